import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/events/bus.js';
import { createSinks } from '../../src/events/sinks/index.js';
import { redisStreamSinkSchema } from '../../src/events/sinks/redis-stream/config.js';
import { STREAM_FIELD } from '../../src/events/sinks/redis-stream/index.js';
import type { BrokerEvent } from '../../src/events/types.js';
import { Metrics } from '../../src/metrics.js';
import {
  deletePrefix,
  REDIS_URL,
  redisAvailable,
  requireService,
  uniquePrefix,
} from '../helpers/services.js';

let available = false;
let redis: Redis;
const prefix = uniquePrefix('events-cap');

beforeAll(async () => {
  available = await requireService('redis', await redisAvailable());
  if (available) redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  if (!available) return;
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('events.redis_stream.max_entries', () => {
  it('defaults to a million entries and takes only a positive integer', () => {
    expect(redisStreamSinkSchema.parse({}).max_entries).toBe(1_000_000);
    expect(redisStreamSinkSchema.parse({ max_entries: 500 }).max_entries).toBe(500);
    for (const bad of [0, -1, 1.5, '100']) {
      expect(redisStreamSinkSchema.safeParse({ max_entries: bad }).success).toBe(false);
    }
  });

  it('keeps the newest entries within the cap however many arrive inside the retention', async (ctx) => {
    if (!available) return ctx.skip();
    const cap = 200;
    // One radix-tree node of the stream (`stream-node-max-entries`): what `~` may keep above the cap.
    const [, configured] = (await redis.config('GET', 'stream-node-max-entries')) as string[];
    const node = Number(configured ?? 100);
    const sinks = createSinks(
      {
        stdout: { enabled: false },
        redis_stream: { stream: 'capped', retention: '7d', max_entries: cap },
      },
      { redis, keyPrefix: prefix, metrics: new Metrics() },
    );
    const events = new EventBus({ sinks, checkpoint: { maxDelayMs: 60_000 } });
    await events.start();
    for (let n = 0; n < 3_000; n += 1) {
      await events.emit({ type: 'lease.revoked', outcome: 'success', lease_id: `lse_${n}` });
    }
    await events.flush();
    const key = `${prefix}:capped`;
    const length = await redis.xlen(key);
    expect(length).toBeGreaterThanOrEqual(cap);
    expect(length).toBeLessThanOrEqual(cap + node);
    // What is kept is the newest, in order, ending with the last event chained.
    const entries = await redis.xrange(key, '-', '+');
    const seqs = entries.map(([, fields]) => {
      expect(fields[0]).toBe(STREAM_FIELD);
      return (JSON.parse(fields[1] ?? 'null') as BrokerEvent).seq;
    });
    const last = events.stats().emitted - 1;
    expect(seqs).toEqual(Array.from({ length }, (_, i) => last - length + 1 + i));
    await events.close();
  });
});
