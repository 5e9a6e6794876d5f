import type { Cluster, Redis } from 'ioredis';
import type { BrokerConfig } from '../config/schema.js';
import { MemoryLeaseStore } from '../leases/memory-store.js';
import {
  createRedisClient,
  type Endpoint,
  listpackValueLimit,
  RECOMMENDED_LISTPACK_VALUE,
  serversWithoutAof,
  storeEndpoints,
  waitReady,
} from '../leases/redis-client.js';
import { RedisLeaseStore } from '../leases/redis-store.js';
import { safeMessage } from '../leases/revoker.js';
import type { LeaseStore, StoreSettings } from '../leases/types.js';
import type { Logger } from '../lib/logger.js';

export interface OpenedStore {
  store: LeaseStore;
  /** The lease store's connection (absent for the memory store): events and `jti`s use it too. */
  redis?: Redis | Cluster;
  /**
   * Every server that holds or may come to hold the leases (Sentinel's primary and replicas,
   * the Cluster's nodes), re-read every 30 s: no provider target may point at one of them.
   */
  endpoints(): readonly Endpoint[];
  /** Stops re-reading the endpoints (the store itself is closed through `store.close`). */
  stop(): void;
}

export interface OpenStoreOptions {
  kind: 'redis' | 'memory';
  config: BrokerConfig;
  settings: StoreSettings;
  logger: Logger;
  /** Refuse to start when Redis keeps no AOF (also `redis.require_aof`). */
  requireAof?: boolean;
}

const ENDPOINT_REFRESH_MS = 30_000;

export function storeSettings(config: BrokerConfig): StoreSettings {
  return {
    retentionMs: config.leases.retention,
    pendingTimeoutMs: config.leases.pending_timeout,
    claimTimeoutMs: config.leases.reaper.claim_timeout,
    maxAttempts: config.leases.reaper.max_attempts,
    failedRetryMs: config.leases.reaper.backoff_max,
  };
}

/**
 * Opens the lease store. For Redis: connect (a refused password or an unreachable server
 * stops the start), check persistence on every server that may hold leases, warn about a
 * listpack setting that wastes memory, learn the store's servers, and claim the key layout
 * (a prefix an earlier layout wrote is refused rather than its leases left unseen).
 */
export async function openLeaseStore(options: OpenStoreOptions): Promise<OpenedStore> {
  if (options.kind === 'memory') {
    return { store: new MemoryLeaseStore(options.settings), endpoints: () => [], stop() {} };
  }
  const { config, logger } = options;
  const redis = createRedisClient(config.redis);
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  const step = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      redis.disconnect();
      throw new Error(`${what}: ${safeMessage(err)}`);
    }
  };
  await step(`cannot reach Redis at ${redisWhere(config.redis)}`, () => waitReady(redis, 10_000));
  const withoutAof = await step('cannot check Redis persistence', () =>
    serversWithoutAof(redis, config.redis),
  );
  if (withoutAof.length > 0) {
    const where = withoutAof.join(', ');
    if (options.requireAof || config.redis.require_aof) {
      redis.disconnect();
      throw new Error(
        `Redis keeps no append-only file (appendonly no) on ${where} and redis.require_aof is set`,
      );
    }
    logger.warn(
      `Redis keeps no append-only file on ${where}: a Redis restart loses every lease record there (set appendonly yes)`,
    );
  }
  const listpack = await listpackValueLimit(redis);
  if (listpack !== undefined && listpack < RECOMMENDED_LISTPACK_VALUE) {
    logger.warn(
      `Redis hash-max-listpack-value is ${listpack}: set it to ${RECOMMENDED_LISTPACK_VALUE} to keep lease records compact (about 35 % less memory per lease)`,
    );
  }
  let endpoints = await step('cannot tell which servers hold the lease store', () =>
    storeEndpoints(redis, config.redis),
  );
  const store = new RedisLeaseStore(redis, config.redis.key_prefix, options.settings);
  try {
    await store.claimLayout();
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  // Replicas come and go, and failovers move the primary.
  const refresh =
    config.redis.mode === 'standalone'
      ? undefined
      : setInterval(() => {
          storeEndpoints(redis, config.redis).then(
            (found) => {
              endpoints = found;
            },
            (err: unknown) =>
              logger.warn({ err: safeMessage(err) }, 'could not refresh the lease store servers'),
          );
        }, ENDPOINT_REFRESH_MS);
  refresh?.unref();
  return {
    store,
    redis,
    endpoints: () => endpoints,
    stop: () => clearInterval(refresh),
  };
}

/** Where the broker looks for Redis, for an error message (no password). */
function redisWhere(config: BrokerConfig['redis']): string {
  if (config.mode === 'sentinel' && config.sentinel) {
    const at = config.sentinel.sentinels.map((s) => `${s.host}:${s.port}`).join(', ');
    return `"${config.sentinel.name}" via sentinels ${at}`;
  }
  try {
    const u = new URL(config.url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}
