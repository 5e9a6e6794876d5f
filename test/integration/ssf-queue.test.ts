import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeliveryQueue, MemoryDeliveryQueue, type PendingSet } from '../../src/ssf/queue.js';
import { RedisDeliveryQueue } from '../../src/ssf/redis-queue.js';
import {
  deletePrefix,
  REDIS_URL,
  redisAvailable,
  requireService,
  uniquePrefix,
} from '../helpers/services.js';

// Fails under CI without Redis; elsewhere the Redis half is skipped with a warning.
const redisUp = await requireService('redis', await redisAvailable());
const KINDS = redisUp ? (['redis', 'memory'] as const) : (['memory'] as const);

let redis: Redis | undefined;
const prefixes: string[] = [];
beforeAll(() => {
  if (redisUp) redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  for (const prefix of prefixes) if (redis) await deletePrefix(redis, `${prefix}:`);
  redis?.disconnect();
});

function pending(id: string, queuedAt: number): PendingSet {
  return {
    id,
    receiver: 'r',
    attempts: 0,
    queuedAt,
    signal: {
      kind: 'session-revoked',
      workload: 'agent-a',
      txn: `evt_${id}`,
      subject: { format: 'complex', application: { format: 'opaque', id: 'agent-a' } },
      payload: {},
      jit: { workload: 'agent-a' },
    },
  };
}

describe.each(KINDS)('the SET delivery queue (%s)', (kind) => {
  const queue = (): DeliveryQueue => {
    if (kind === 'memory' || redis === undefined) return new MemoryDeliveryQueue();
    const prefix = uniquePrefix('ssfq');
    prefixes.push(prefix);
    return new RedisDeliveryQueue(redis, prefix);
  };

  it('a claim hides the SET until it ends; a claim that ran out is taken over, and its late finish changes nothing', async () => {
    const q = queue();
    await q.enqueue([pending('a', 1_000)], 10);
    const [first] = await q.claim(1_000, 5_000, 10);
    expect(first?.set.id).toBe('a');
    expect(await q.claim(4_999, 9_000, 10)).toEqual([]);
    // The claimer died: at its end another replica takes the SET.
    const [second] = await q.claim(5_000, 9_000, 10);
    expect(second?.set.id).toBe('a');
    expect(await q.finish(first as NonNullable<typeof first>)).toBe(false);
    expect(await q.retry(first as NonNullable<typeof first>, 6_000)).toBe(false);
    expect(await q.depth()).toBe(1);
    expect(await q.finish(second as NonNullable<typeof second>)).toBe(true);
    expect(await q.depth()).toBe(0);
  });

  it('a retry counts the attempt and makes the SET due again at its time', async () => {
    const q = queue();
    await q.enqueue([pending('a', 1_000)], 10);
    const [claimed] = await q.claim(1_000, 5_000, 10);
    expect(await q.retry(claimed as NonNullable<typeof claimed>, 2_000)).toBe(true);
    expect(await q.claim(1_999, 9_000, 10)).toEqual([]);
    const [again] = await q.claim(2_000, 9_000, 10);
    expect(again?.set.attempts).toBe(1);
  });

  it('holds at most maxQueue SETs: the oldest are dropped and handed back to be reported', async () => {
    const q = queue();
    await q.enqueue([pending('a', 1_000), pending('b', 2_000)], 2);
    const dropped = await q.enqueue([pending('c', 3_000)], 2);
    expect(dropped.map((s) => s.id)).toEqual(['a']);
    expect(await q.depth()).toBe(2);
    const claimed = await q.claim(10_000, 20_000, 10);
    expect(claimed.map((c) => c.set.id).sort()).toEqual(['b', 'c']);
  });

  it('claims at most the batch asked for', async () => {
    const q = queue();
    await q.enqueue([pending('a', 1), pending('b', 2), pending('c', 3)], 10);
    expect(await q.claim(10, 100, 2)).toHaveLength(2);
    expect(await q.claim(10, 100, 2)).toHaveLength(1);
  });

  it('a release puts the SET back untried: due at its time, no attempt counted, fenced by its claim', async () => {
    const q = queue();
    await q.enqueue([pending('a', 1_000)], 10);
    const [claimed] = await q.claim(1_000, 5_000, 10);
    const held = claimed as NonNullable<typeof claimed>;
    expect(await q.release(held, 1_500)).toBe(true);
    expect(await q.release(held, 1_500)).toBe(false);
    expect(await q.claim(1_499, 9_000, 10)).toEqual([]);
    const [again] = await q.claim(1_500, 9_000, 10);
    expect(again?.set.attempts).toBe(0);
  });
});

describe.runIf(redisUp)('the Redis SET queue and what it cannot read', () => {
  it('a SET it cannot read (damaged, another version) is removed at its claim, not claimed again', async () => {
    const prefix = uniquePrefix('ssfq');
    prefixes.push(prefix);
    const r = redis as Redis;
    const q = new RedisDeliveryQueue(r, prefix);
    await q.enqueue([pending('good', 2)], 10);
    const unreadable = {
      bad: 'not json',
      odd: JSON.stringify({ id: 'odd', receiver: 'r' }),
      mismatch: JSON.stringify({ ...pending('other', 1), id: 'other' }),
    };
    for (const [id, text] of Object.entries(unreadable)) {
      await r.hset(`${prefix}:{ssf}:sets`, id, text);
      await r.zadd(`${prefix}:{ssf}:due`, 1, id);
      await r.zadd(`${prefix}:{ssf}:age`, 1, id);
    }
    expect(await q.depth()).toBe(4);
    const claimed = await q.claim(10, 100, 10);
    expect(claimed.map((c) => c.set.id)).toEqual(['good']);
    expect(await q.depth()).toBe(1);
    // At the claim's end nothing unreadable comes back.
    expect((await q.claim(100, 200, 10)).map((c) => c.set.id)).toEqual(['good']);
    expect(await r.hlen(`${prefix}:{ssf}:sets`)).toBe(1);
  });
});
