import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { LeaseKeys } from '../../src/leases/keys.js';
import { type RedisClient, RedisLeaseStore } from '../../src/leases/redis-store.js';
import { CONFORMANCE_SETTINGS, newLease } from '../helpers/lease-store-conformance.js';
import {
  deletePrefix,
  REDIS_URL,
  redisAvailable,
  requireService,
  uniquePrefix,
} from '../helpers/services.js';

/** The real client, recording the name and first key of every command the store sends. */
function recording(redis: Redis): { client: RedisClient; sent: string[][] } {
  const sent: string[][] = [];
  const client = new Proxy(redis, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      return (...args: unknown[]) => {
        sent.push([prop, ...args.map(String)]);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { client, sent };
}

describe('reaper hints on one Redis node (standalone, Sentinel)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function setup() {
    const redis = new Redis(REDIS_URL);
    const prefix = uniquePrefix('hint');
    cleanups.push(async () => {
      await deletePrefix(redis, `${prefix}:`);
      redis.disconnect();
    });
    const { client, sent } = recording(redis);
    return {
      redis,
      sent,
      keys: new LeaseKeys(prefix),
      store: new RedisLeaseStore(client, prefix, CONFORMANCE_SETTINGS),
    };
  }

  it('a lease and its hints are written by one script, so no crash leaves the lease unfindable', async (ctx) => {
    if (!(await requireService('redis', await redisAvailable()))) ctx.skip();
    const { redis, sent, keys, store } = await setup();
    const input = newLease();
    sent.length = 0;
    const lease = await store.create(input);
    // One command, a script naming the lease and both hint keys: Redis applies it whole.
    expect(sent.map(([name]) => name)).toEqual(['evalsha']);
    expect(sent[0]).toEqual(
      expect.arrayContaining([keys.lease(lease.id), keys.workloads, keys.hint]),
    );
    expect(await redis.sismember(keys.workloads, input.workload)).toBe(1);
    const due = await redis.zscore(keys.due(input.workload), lease.id);
    expect(due).not.toBeNull();
    expect(await redis.zscore(keys.hint, input.workload)).toBe(due);
  });

  it('a refused create (cap reached) writes no hint', async (ctx) => {
    if (!(await requireService('redis', await redisAvailable()))) ctx.skip();
    const { redis, keys, store } = await setup();
    const input = newLease({ maxLive: 1 });
    await store.create(input);
    await redis.zrem(keys.hint, input.workload);
    await expect(
      store.create({ ...input, task: { id: 'other', intent: 'x' } }),
    ).rejects.toMatchObject({
      code: 'lease_cap_reached',
    });
    expect(await redis.zscore(keys.hint, input.workload)).toBeNull();
  });

  it('activation lowers the hint to the lease due time in its own script', async (ctx) => {
    if (!(await requireService('redis', await redisAvailable()))) ctx.skip();
    const { redis, sent, keys, store } = await setup();
    const input = newLease({ ttlMs: 60_000 });
    const lease = await store.create(input);
    // The reaper took the hint (and found nothing due) between the create and the activation.
    await redis.zrem(keys.hint, input.workload);
    sent.length = 0;
    expect((await store.activate(lease, 'sealed')).outcome).toBe('active');
    expect(sent.map(([name]) => name)).toEqual(['evalsha']);
    expect(sent[0]).toEqual(expect.arrayContaining([keys.hint]));
    const due = await redis.zscore(keys.due(input.workload), lease.id);
    expect(Number(due)).toBe(lease.expiresAt);
    expect(await redis.zscore(keys.hint, input.workload)).toBe(due);
  });
});
