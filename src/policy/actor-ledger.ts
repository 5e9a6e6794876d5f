import type { Cluster, Redis } from 'ioredis';
import { BrokerError } from '../errors.js';
import { sha256Hex } from '../identity/token-hash.js';
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

/** `iss` and `jti` are the token's own text: hashed to bound the key and keep it printable. */
function useKey(use: ActorUse): string {
  return sha256Hex(`${use.issuer}\u0000${use.jti}`);
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
    const ttl = Math.max(1_000, Math.ceil(use.expiresAt - this.#now()));
    try {
      const won = await this.#redis.eval(
        CLAIM,
        1,
        `${this.#prefix}:actor-use:${useKey(use)}`,
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
  readonly #uses = new Map<string, { taskId: string; until: number }>();
  readonly #now: () => number;
  readonly #maxEntries: number;

  constructor(now: () => number = Date.now, maxEntries = 100_000) {
    this.#now = now;
    this.#maxEntries = maxEntries;
  }

  async claim(use: ActorUse): Promise<boolean> {
    const now = this.#now();
    const key = useKey(use);
    const held = this.#uses.get(key);
    if (held !== undefined && held.until > now) return held.taskId === use.taskId;
    if (this.#uses.size >= this.#maxEntries) {
      for (const [k, v] of this.#uses) if (v.until <= now) this.#uses.delete(k);
    }
    if (this.#uses.size >= this.#maxEntries) {
      throw new BrokerError('store_unavailable', 'too many one-time actor tokens in memory', {
        retryAfter: 2,
      });
    }
    this.#uses.set(key, { taskId: use.taskId, until: use.expiresAt });
    return true;
  }
}
