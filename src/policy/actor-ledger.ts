import type { Cluster, Redis } from 'ioredis';
import { BrokerError } from '../errors.js';
import { MemoryTokenUses, tokenUseKey, tokenUseTtlMs } from '../identity/token-uses.js';
import type { ActorUse } from './types.js';

/**
 * Which task each one-time actor token was used for, until the token expires. Shared by
 * every replica (Redis), so a token used for one task on one replica is refused for another
 * task on all of them. The same task again (a retry) is the same use.
 */
export interface ActorUseLedger {
  /** True when the token is unused or was used for this same task id. */
  claim(use: ActorUse): Promise<boolean>;
}

// GET then SET in one step: two replicas racing for the same token cannot both win.
const CLAIM = `
local held = redis.call('GET', KEYS[1])
if not held then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if held == ARGV[1] then return 1 end
return 0`;

export class RedisActorUseLedger implements ActorUseLedger {
  readonly #redis: Redis | Cluster;
  readonly #prefix: string;
  readonly #now: () => number;

  constructor(redis: Redis | Cluster, keyPrefix: string, now: () => number = Date.now) {
    this.#redis = redis;
    this.#prefix = keyPrefix;
    this.#now = now;
  }

  async claim(use: ActorUse): Promise<boolean> {
    const ttl = tokenUseTtlMs(use.expiresAt, this.#now());
    try {
      const won = await this.#redis.eval(
        CLAIM,
        1,
        `${this.#prefix}:actor-use:${tokenUseKey(use.issuer, use.jti)}`,
        use.taskId,
        String(ttl),
      );
      return won === 1;
    } catch (cause) {
      // Fail closed: without the store a reuse cannot be told from a first use.
      throw new BrokerError('store_unavailable', 'one-time actor tokens cannot be checked', {
        retryAfter: 2,
        cause,
      });
    }
  }
}

/** One process's memory: `dev`, `policy test` and a single replica. Bounded. */
export class MemoryActorUseLedger implements ActorUseLedger {
  /** Token use → the task id it was used for. */
  readonly #uses: MemoryTokenUses<string>;
  readonly #now: () => number;

  constructor(now: () => number = Date.now, maxEntries = 100_000) {
    this.#now = now;
    this.#uses = new MemoryTokenUses(maxEntries);
  }

  async claim(use: ActorUse): Promise<boolean> {
    const now = this.#now();
    const key = tokenUseKey(use.issuer, use.jti);
    const held = this.#uses.live(key, now);
    if (held !== undefined) return held.value === use.taskId;
    if (!this.#uses.record(key, use.taskId, use.expiresAt, now)) {
      throw new BrokerError('store_unavailable', 'too many one-time actor tokens in memory', {
        retryAfter: 2,
      });
    }
    return true;
  }
}
