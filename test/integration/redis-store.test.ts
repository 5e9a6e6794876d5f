import { Redis } from 'ioredis';
import { RedisLeaseStore } from '../../src/leases/redis-store.js';
import { CONFORMANCE_SETTINGS, describeLeaseStore } from '../helpers/lease-store-conformance.js';
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
