import type { Cluster, Redis } from 'ioredis';
import { BrokerError } from '../errors.js';
import { slotTag } from '../lib/ids.js';
import { untilSoonestEnd } from './lib/retry-after.js';
import { Script } from './lib/script.js';
import * as lua from './scripts.js';
import type { BudgetCheck, BudgetStore, BudgetVerdict, StillLive } from './types.js';

/**
 * Budgets in Redis, under the broker's key prefix: every replica counts against the same
 * keys. A workload's counters carry its hash tag (like its lease keys); a policy's carry a
 * tag of its own name.
 */
const ADMIT_REQUEST = new Script(lua.ADMIT_REQUEST);
const RETURN_REQUEST = new Script(lua.RETURN_REQUEST);
const RESERVE_LIVE = new Script(lua.RESERVE_LIVE);

export class RedisBudgetStore implements BudgetStore {
  readonly #redis: Redis | Cluster;
  readonly #prefix: string;

  constructor(redis: Redis | Cluster, keyPrefix: string) {
    this.#redis = redis;
    this.#prefix = keyPrefix;
  }

  #key(kind: 'req' | 'live', check: BudgetCheck): string {
    const tag =
      'workload' in check.owner
        ? slotTag(check.owner.workload)
        : slotTag(`policy:${check.owner.policy}`);
    return `${this.#prefix}:{${tag}}:budget:${kind}:${check.counter}`;
  }

  async admitRequest(checks: readonly BudgetCheck[], windowMs: number): Promise<BudgetVerdict> {
    if (checks.length === 0) return { ok: true };
    return this.#guard(async () => {
      // All counters at once (one round trip with auto-pipelining); the admitted ones are
      // given back when another refused, so a refused request is counted nowhere.
      const replies = (await Promise.all(
        checks.map((check) =>
          ADMIT_REQUEST.run(
            this.#redis,
            [this.#key('req', check)],
            [String(check.limit), String(windowMs)],
          ),
        ),
      )) as [number, number?][];
      const refused = replies.findIndex(([ok]) => ok !== 1);
      if (refused === -1) return { ok: true };
      await Promise.all(
        checks.map((check, i) =>
          replies[i]?.[0] === 1
            ? RETURN_REQUEST.run(this.#redis, [this.#key('req', check)], [])
            : undefined,
        ),
      );
      const check = checks[refused] as BudgetCheck;
      return {
        ok: false,
        budget: check.budget,
        retryAfterMs: Number(replies[refused]?.[1] ?? windowMs),
      };
    });
  }

  async reserveLive(
    leaseId: string,
    liveUntil: number,
    checks: readonly BudgetCheck[],
    stillLive: StillLive,
  ): Promise<BudgetVerdict> {
    if (checks.length === 0) return { ok: true };
    return this.#guard(async () => {
      const outcomes = await Promise.all(
        checks.map((check) =>
          this.#reserveOne(this.#key('live', check), leaseId, liveUntil, check, stillLive),
        ),
      );
      const refused = outcomes.findIndex((o) => o !== true);
      if (refused === -1) return { ok: true };
      await Promise.all(
        checks.map((check, i) =>
          outcomes[i] === true ? this.#redis.zrem(this.#key('live', check), leaseId) : undefined,
        ),
      );
      return {
        ok: false,
        budget: (checks[refused] as BudgetCheck).budget,
        retryAfterMs: outcomes[refused] as number,
      };
    });
  }

  /** True when held; otherwise ms until a place may free up. */
  async #reserveOne(
    key: string,
    leaseId: string,
    liveUntil: number,
    check: BudgetCheck,
    stillLive: StillLive,
  ): Promise<true | number> {
    // Twice at most: a full counter is cleared of finished leases, then tried again.
    for (let attempt = 0; attempt < 2; attempt++) {
      const [ok, members] = (await RESERVE_LIVE.run(
        this.#redis,
        [key],
        [leaseId, String(check.limit), String(liveUntil)],
      )) as [number, string[]?];
      if (ok === 1) return true;
      const ids = members ?? [];
      const states = await stillLive(ids);
      const finished = ids.filter((_, i) => states[i]?.live === false);
      if (finished.length === 0) {
        return untilSoonestEnd(states, Date.now());
      }
      await this.#redis.zrem(key, ...finished);
    }
    return 1_000;
  }

  async #guard<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (cause) {
      // Fail closed: a budget nobody can read is a budget nobody may spend.
      throw new BrokerError('store_unavailable', 'budgets cannot be checked', {
        retryAfter: 2,
        cause,
      });
    }
  }
}
