import type { SinkFactory } from '../sink-factory.js';
import { type StdoutSinkConfig, stdoutSinkSchema } from './config.js';
import { stdoutSink } from './create-sink.js';

export const stdoutSinkFactory: SinkFactory<StdoutSinkConfig> = {
  kind: 'stdout',
  section: { key: 'stdout', list: false },
  config: stdoutSinkSchema,
  create(config, deps) {
    if (!config.enabled) return undefined;
    return stdoutSink({
      format: config.format,
      mode: config.mode,
      ...(deps.eventsOut === undefined ? {} : { stream: deps.eventsOut }),
    });
  },
};
