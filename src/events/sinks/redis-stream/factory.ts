import type { SinkFactory } from '../sink-factory.js';
import { type RedisStreamSinkConfig, redisStreamSinkSchema } from './config.js';
import { redisStreamSink } from './create-sink.js';
import { streamGroups } from './stream-groups.js';

export const redisStreamSinkFactory: SinkFactory<RedisStreamSinkConfig> = {
  kind: 'redis-stream',
  section: { key: 'redis_stream', list: false },
  config: redisStreamSinkSchema,
  create(config, deps) {
    const client = deps.redis;
    if (!config.enabled || client === undefined) return undefined;
    const stream = `${deps.keyPrefix}:${config.stream}`;
    // The consumer groups' backlog is how operators see a SIEM falling behind the record.
    deps.metrics.watchEventStream(() => streamGroups(client, stream));
    return redisStreamSink({
      client,
      stream,
      retentionMs: config.retention,
      maxEntries: config.max_entries,
      format: config.format,
      mode: config.mode,
      name: 'redis-stream',
    });
  },
};
