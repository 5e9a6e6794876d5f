import type { Cluster, Redis } from 'ioredis';
import { BrokerError } from '../errors.js';
import { MemoryTokenUses, tokenUseKey, tokenUseTtlMs } from './token-uses.js';

/**
 * Remembers one-time `jti`s until their token expires. Shared by every replica (Redis), so a
 * token accepted by one is refused by all the others (DESIGN principle 7).
 */
export interface ReplayGuard {
  /** True the first time `(iss, jti)` is seen before `expiresAt` (ms); false on a replay. */
  claimOnce(iss: string, jti: string, expiresAt: number): Promise<boolean>;
}

/** Redis `SET NX PX`: atomic across replicas, forgotten by Redis once the token is dead. */
export class RedisReplayGuard implements ReplayGuard {
  readonly #redis: Redis | Cluster;
  readonly #prefix: string;
  readonly #now: () => number;

  constructor(redis: Redis | Cluster, keyPrefix: string, now: () => number = Date.now) {
    this.#redis = redis;
    this.#prefix = keyPrefix;
    this.#now = now;
  }

  async claimOnce(iss: string, jti: string, expiresAt: number): Promise<boolean> {
    const ttl = tokenUseTtlMs(expiresAt, this.#now());
    try {
      const set = await this.#redis.set(
        `${this.#prefix}:jti:${tokenUseKey(iss, jti)}`,
        '1',
        'PX',
        ttl,
        'NX',
      );
      return set === 'OK';
    } catch (cause) {
      // Fail closed: without the store nobody can tell a first use from a replay.
      throw new BrokerError('store_unavailable', 'one-time token ids cannot be checked', {
        retryAfter: 2,
        cause,
      });
    }
  }
}

/**
 * One process's memory: for `dev` and tests, or a single replica. Bounded: beyond
 * `maxEntries` live ids it refuses new ones rather than forget a live one.
 */
export class MemoryReplayGuard implements ReplayGuard {
  readonly #seen: MemoryTokenUses<true>;
  readonly #now: () => number;

  constructor(now: () => number = Date.now, maxEntries = 100_000) {
    this.#now = now;
    this.#seen = new MemoryTokenUses(maxEntries);
  }

  async claimOnce(iss: string, jti: string, expiresAt: number): Promise<boolean> {
    const now = this.#now();
    const key = tokenUseKey(iss, jti);
    if (this.#seen.live(key, now) !== undefined) return false;
    if (!this.#seen.record(key, true, expiresAt, now)) {
      throw new BrokerError('store_unavailable', 'too many one-time token ids in memory', {
        retryAfter: 2,
      });
    }
    return true;
  }
}
