import { z } from 'zod';
import { duration } from '../../../config/duration.js';
import { eventFormat, sinkMode } from '../lib/config.js';

/** `events.redis_stream`: the system of record, a stream next to the leases. */
export const redisStreamSinkSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** The key is `<redis.key_prefix>:<stream>`. */
    stream: z.string().default('events'),
    retention: duration.default(7 * 86_400_000),
    /**
     * Entries kept at most, whatever their age (about 0.6 KB of Redis memory each): a
     * backstop so that no burst can grow the stream without bound within `retention`.
     */
    max_entries: z.number().int().positive().default(1_000_000),
    format: eventFormat.default('json'),
    mode: sinkMode.default('required'),
  })
  .strict();
export type RedisStreamSinkConfig = z.infer<typeof redisStreamSinkSchema>;
