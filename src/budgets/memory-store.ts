import { untilSoonestEnd } from './lib/retry-after.js';
import type { BudgetCheck, BudgetStore, BudgetVerdict, StillLive } from './types.js';

const LIMIT = 100_000;

/** One process's budgets, with the Redis store's rules: for `dev`, tests and one replica. */
export class MemoryBudgetStore implements BudgetStore {
  readonly #requests = new Map<string, { count: number; endsAt: number }>();
  readonly #live = new Map<string, Map<string, number>>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async admitRequest(checks: readonly BudgetCheck[], windowMs: number): Promise<BudgetVerdict> {
    const now = this.#now();
    for (const check of checks) {
      const window = this.#requests.get(check.counter);
      if (window !== undefined && window.endsAt > now && window.count >= check.limit) {
        return { ok: false, budget: check.budget, retryAfterMs: window.endsAt - now };
      }
    }
    if (this.#requests.size >= LIMIT) {
      for (const [key, w] of this.#requests) if (w.endsAt <= now) this.#requests.delete(key);
    }
    for (const check of checks) {
      const window = this.#requests.get(check.counter);
      if (window === undefined || window.endsAt <= now) {
        this.#requests.set(check.counter, { count: 1, endsAt: now + windowMs });
      } else {
        window.count += 1;
      }
    }
    return { ok: true };
  }

  async reserveLive(
    leaseId: string,
    liveUntil: number,
    checks: readonly BudgetCheck[],
    stillLive: StillLive,
  ): Promise<BudgetVerdict> {
    const now = this.#now();
    for (const check of checks) {
      const held = this.#live.get(check.counter) ?? new Map<string, number>();
      for (const [id, until] of held) if (until <= now) held.delete(id);
      if (held.size >= check.limit) {
        const ids = [...held.keys()];
        const states = await stillLive(ids);
        ids.forEach((id, i) => {
          if (states[i]?.live === false) held.delete(id);
        });
        if (held.size >= check.limit) {
          return { ok: false, budget: check.budget, retryAfterMs: untilSoonestEnd(states, now) };
        }
      }
      this.#live.set(check.counter, held);
    }
    for (const check of checks) this.#live.get(check.counter)?.set(leaseId, liveUntil);
    return { ok: true };
  }
}
