import { httpSinkFactory } from './http/factory.js';
import { redisStreamSinkFactory } from './redis-stream/factory.js';
import type { SinkFactory, SinkKind } from './sink-factory.js';
import { stdoutSinkFactory } from './stdout/factory.js';
import { syslogSinkFactory } from './syslog/factory.js';

/** One factory per kind: adding a kind to `SINK_KINDS` fails to compile until it is here. */
export const sinkFactories: Record<SinkKind, SinkFactory> = {
  stdout: stdoutSinkFactory,
  'redis-stream': redisStreamSinkFactory,
  http: httpSinkFactory,
  syslog: syslogSinkFactory,
};
