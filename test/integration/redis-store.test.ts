import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { LeaseKeys } from '../../src/leases/keys.js';
import { RedisLeaseStore } from '../../src/leases/redis-store.js';
import { REVOKE_WORKLOAD } from '../../src/leases/scripts.js';
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
      expect((await store.activate(lease.id, 'h')).outcome).toBe('active');
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
