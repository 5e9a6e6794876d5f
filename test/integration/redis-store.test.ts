import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { LeaseKeys } from '../../src/leases/keys.js';
import { RedisLeaseStore } from '../../src/leases/redis-store.js';
import { REVOKE_WORKLOAD } from '../../src/leases/scripts.js';
import { newLeaseId, slotTag } from '../../src/lib/ids.js';
import {
  CONFORMANCE_SETTINGS,
  describeLeaseStore,
  newLease,
} from '../helpers/lease-store-conformance.js';
import {
  deletePrefix,
  REDIS_URL,
  redisAvailable,
  requireService,
  uniquePrefix,
} from '../helpers/services.js';

describeLeaseStore('redis', async () => {
  if (!(await requireService('redis', await redisAvailable()))) return null;
  const redis = new Redis(REDIS_URL);
  const prefix = uniquePrefix('ls');
  return {
    store: new RedisLeaseStore(redis, prefix, CONFORMANCE_SETTINGS),
    cleanup: async () => {
      await deletePrefix(redis, `${prefix}:`);
      redis.disconnect();
    },
  };
});

describe('kill switch whose caller dies after setting the epoch (redis)', () => {
  it('the reaper claims every lease created before the epoch as workload_revoked', async (ctx) => {
    if (!(await requireService('redis', await redisAvailable()))) ctx.skip();
    const redis = new Redis(REDIS_URL);
    const prefix = uniquePrefix('ep');
    const store = new RedisLeaseStore(redis, prefix, CONFORMANCE_SETTINGS);
    try {
      const input = newLease({ ttlMs: 60_000 });
      const lease = await store.create(input);
      expect((await store.activate(lease, 'h')).outcome).toBe('active');
      // Only the first step of the kill switch runs; the caller dies before claiming.
      const keys = new LeaseKeys(prefix);
      await redis.eval(
        REVOKE_WORKLOAD,
        2,
        keys.meta(input.workload),
        keys.due(input.workload),
        '0',
        'x',
      );
      const claims = await store.claimDue(input.workload, 10);
      expect(claims.map((c) => [c.lease.id, c.reason])).toEqual([[lease.id, 'workload_revoked']]);
    } finally {
      await deletePrefix(redis, `${prefix}:`);
      redis.disconnect();
    }
  });
});

describe('lease ids locate their record (redis)', () => {
  it('finds a lease from its id alone; made-up or mismatched ids find nothing', async (ctx) => {
    if (!(await requireService('redis', await redisAvailable()))) ctx.skip();
    const redis = new Redis(REDIS_URL);
    const prefix = uniquePrefix('id');
    const store = new RedisLeaseStore(redis, prefix, CONFORMANCE_SETTINGS);
    const keys = new LeaseKeys(prefix);
    try {
      const input = newLease({ ttlMs: 60_000 });
      const lease = await store.create(input);
      expect(await redis.exists(keys.lease(lease.id))).toBe(1);
      expect((await store.get(lease.id))?.workload).toBe(input.workload);
      // Same tag, fresh random part: no such key.
      expect(await store.get(newLeaseId(input.workload))).toBeNull();
      expect(await store.get('lse_not-an-id')).toBeNull();
      // A record whose id tag is not its workload's is not one the store wrote: refused.
      let other = 'agent-x';
      for (let i = 0; slotTag(other) === slotTag(input.workload); i += 1) other = `agent-x${i}`;
      const forged = newLeaseId(other);
      await redis.hset(keys.lease(forged), 'w', input.workload, 'st', 'active');
      expect(await store.get(forged)).toBeNull();
      expect(await store.requestRevoke([forged], 'operator')).toEqual([{ status: 'not_found' }]);
    } finally {
      await deletePrefix(redis, `${prefix}:`);
      redis.disconnect();
    }
  });
});

describe('key layout marker (redis)', () => {
  it('marks a fresh prefix and refuses one an earlier layout wrote', async (ctx) => {
    if (!(await requireService('redis', await redisAvailable()))) ctx.skip();
    const redis = new Redis(REDIS_URL);
    const fresh = uniquePrefix('lay');
    const old = uniquePrefix('lay');
    const other = uniquePrefix('lay');
    try {
      const store = new RedisLeaseStore(redis, fresh, CONFORMANCE_SETTINGS);
      await store.claimLayout();
      expect(await redis.get(`${fresh}:layout`)).toBe('2');
      await store.create(newLease({ ttlMs: 60_000 }));
      await expect(store.claimLayout()).resolves.toBeUndefined();

      // Workloads recorded, no marker: leases of an earlier layout live here.
      await redis.sadd(`${old}:workloads`, 'agent-a');
      await expect(
        new RedisLeaseStore(redis, old, CONFORMANCE_SETTINGS).claimLayout(),
      ).rejects.toThrow(/earlier key layout/);
      expect(await redis.get(`${old}:layout`)).toBeNull();
      await redis.set(`${other}:layout`, '1');
      await expect(
        new RedisLeaseStore(redis, other, CONFORMANCE_SETTINGS).claimLayout(),
      ).rejects.toThrow(/layout 1, not 2/);
    } finally {
      for (const p of [fresh, old, other]) await deletePrefix(redis, `${p}:`);
      redis.disconnect();
    }
  });
});
