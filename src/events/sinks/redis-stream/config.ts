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
    format: eventFormat.default('json'),
    mode: sinkMode.default('required'),
  })
  .strict();
export type RedisStreamSinkConfig = z.infer<typeof redisStreamSinkSchema>;
