import type { SinkFactory } from '../sink-factory.js';
import { type HttpSinkConfig, httpSinkSchema } from './config.js';
import { httpSink } from './create-sink.js';

export const httpSinkFactory: SinkFactory<HttpSinkConfig> = {
  kind: 'http',
  section: { key: 'http', list: true },
  config: httpSinkSchema,
  create(config) {
    const { hec } = config;
    return httpSink({
      name: config.name,
      url: config.url,
      kind: config.kind,
      format: config.format,
      mode: config.mode,
      timeoutMs: config.timeout,
      ...(config.token === undefined ? {} : { token: config.token }),
      ...(config.headers === undefined ? {} : { headers: config.headers }),
      ...(hec === undefined
        ? {}
        : {
            hec: {
              ack: hec.ack,
              ackTimeoutMs: hec.ack_timeout,
              ...(hec.index === undefined ? {} : { index: hec.index }),
              ...(hec.source === undefined ? {} : { source: hec.source }),
              ...(hec.sourcetype === undefined ? {} : { sourcetype: hec.sourcetype }),
              ...(hec.channel === undefined ? {} : { channel: hec.channel }),
            },
          }),
    });
  },
};
