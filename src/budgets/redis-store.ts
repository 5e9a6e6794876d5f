import type { Cluster, Redis } from 'ioredis';
import { BrokerError } from '../errors.js';
import { slotTag } from '../lib/ids.js';
import { ADMIT_REQUEST, RESERVE_LIVE, RETURN_REQUEST } from './scripts.js';
import type { BudgetCheck, BudgetStore, BudgetVerdict } from './types.js';

/**
 * Budgets in Redis, under the broker's key prefix: every replica counts against the same
 * keys. A workload's counters carry its hash tag (like its lease keys); a policy's carry a
 * tag of its own name.
 */
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
      const admitted: BudgetCheck[] = [];
      for (const check of checks) {
        const key = this.#key('req', check);
        const [ok, left] = (await this.#redis.eval(
          ADMIT_REQUEST,
          1,
          key,
          String(check.limit),
          String(windowMs),
        )) as [number, number?];
        if (ok !== 1) {
          for (const done of admitted) {
            await this.#redis.eval(RETURN_REQUEST, 1, this.#key('req', done));
          }
          return { ok: false, budget: check.budget, retryAfterMs: Number(left ?? windowMs) };
        }
        admitted.push(check);
      }
      return { ok: true };
    });
  }

  async reserveLive(
    leaseId: string,
    liveUntil: number,
    checks: readonly BudgetCheck[],
    stillLive: (ids: readonly string[]) => Promise<{ live: boolean; expiresAt?: number }[]>,
  ): Promise<BudgetVerdict> {
    if (checks.length === 0) return { ok: true };
    return this.#guard(async () => {
      const held: string[] = [];
      for (const check of checks) {
        const key = this.#key('live', check);
        let retryAfterMs = 1_000;
        let reserved = false;
        // Twice at most: a full counter is cleared of finished leases, then tried again.
        for (let attempt = 0; attempt < 2 && !reserved; attempt++) {
          const [ok, members] = (await this.#redis.eval(
            RESERVE_LIVE,
            1,
            key,
            leaseId,
            String(check.limit),
            String(liveUntil),
          )) as [number, string[]?];
          if (ok === 1) {
            reserved = true;
            break;
          }
          const ids = members ?? [];
          const states = await stillLive(ids);
          const finished = ids.filter((_, i) => states[i]?.live === false);
          if (finished.length === 0) {
            const ends = states.map((s) => s.expiresAt ?? Number.POSITIVE_INFINITY);
            const soonest = Math.min(...ends);
            if (Number.isFinite(soonest)) retryAfterMs = Math.max(1_000, soonest - Date.now());
            break;
          }
          await this.#redis.zrem(key, ...finished);
        }
        if (!reserved) {
          for (const done of held) await this.#redis.zrem(done, leaseId);
          return { ok: false, budget: check.budget, retryAfterMs };
        }
        held.push(key);
      }
      return { ok: true };
    });
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
