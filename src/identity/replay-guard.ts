import type { Cluster, Redis } from 'ioredis';
import { BrokerError } from '../errors.js';
import { sha256Hex } from './token-hash.js';

/**
 * Remembers one-time `jti`s until their token expires. Shared by every replica (Redis), so a
 * token accepted by one is refused by all the others (DESIGN principle 7).
 */
export interface ReplayGuard {
  /** True the first time `(iss, jti)` is seen before `expiresAt` (ms); false on a replay. */
  claimOnce(iss: string, jti: string, expiresAt: number): Promise<boolean>;
}

/** `iss` and `jti` are the token's own text; hashing bounds the key and keeps it printable. */
function replayKey(iss: string, jti: string): string {
  return sha256Hex(`${iss}\u0000${jti}`);
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
    const ttl = Math.max(1_000, Math.ceil(expiresAt - this.#now()));
    try {
      const set = await this.#redis.set(
        `${this.#prefix}:jti:${replayKey(iss, jti)}`,
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
  readonly #seen = new Map<string, number>();
  readonly #now: () => number;
  readonly #maxEntries: number;

  constructor(now: () => number = Date.now, maxEntries = 100_000) {
    this.#now = now;
    this.#maxEntries = maxEntries;
  }

  async claimOnce(iss: string, jti: string, expiresAt: number): Promise<boolean> {
    const now = this.#now();
    const key = replayKey(iss, jti);
    const until = this.#seen.get(key);
    if (until !== undefined && until > now) return false;
    if (this.#seen.size >= this.#maxEntries) {
      for (const [seen, end] of this.#seen) if (end <= now) this.#seen.delete(seen);
    }
    if (this.#seen.size >= this.#maxEntries) {
      throw new BrokerError('store_unavailable', 'too many one-time token ids in memory', {
        retryAfter: 2,
      });
    }
    this.#seen.set(key, expiresAt);
    return true;
  }
}
