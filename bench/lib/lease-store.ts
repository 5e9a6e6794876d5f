import type { Cluster, Redis } from 'ioredis';
import { createRedisClient } from '../../src/leases/redis-client.js';
import { RedisLeaseStore } from '../../src/leases/redis-store.js';
import { REDIS_URL } from './redis.js';

export interface BenchLeaseStore {
  redis: Redis | Cluster;
  store: RedisLeaseStore;
}

/**
 * A Redis lease store on the machine's Redis under `prefix`, opened the way the broker opens
 * one (its client, its store), with retention and timeouts a bench never reaches.
 */
export function openLeaseStore(prefix: string): BenchLeaseStore {
  const redis = createRedisClient({
    url: REDIS_URL,
    key_prefix: prefix,
    mode: 'standalone',
  } as never);
  const store = new RedisLeaseStore(redis, prefix, {
    retentionMs: 3_600_000,
    pendingTimeoutMs: 60_000,
    claimTimeoutMs: 30_000,
    maxAttempts: 5,
    failedRetryMs: 60_000,
  });
  return { redis, store };
}
