import type { SinkFactory } from '../sink-factory.js';
import { type SyslogSinkConfig, syslogSinkSchema } from './config.js';
import { syslogSink } from './create-sink.js';

export const syslogSinkFactory: SinkFactory<SyslogSinkConfig> = {
  kind: 'syslog',
  section: { key: 'syslog', list: true },
  config: syslogSinkSchema,
  create(config) {
    const { tls } = config;
    return syslogSink({
      name: config.name,
      host: config.host,
      port: config.port,
      transport: config.transport,
      format: config.format,
      mode: config.mode,
      facility: config.facility,
      appName: config.app_name,
      timeoutMs: config.timeout,
      ...(tls === undefined
        ? {}
        : {
            tls: {
              rejectUnauthorized: tls.reject_unauthorized,
              ...(tls.ca === undefined ? {} : { ca: tls.ca }),
              ...(tls.servername === undefined ? {} : { servername: tls.servername }),
            },
          }),
    });
  },
};
