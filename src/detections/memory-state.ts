import type { DetectionState, StateKey, WindowEntry } from './state.js';

/**
 * Detection state in one process: replay and tests. The same answers as the Redis store for
 * the same events; bounded the same way (entries, items, buckets per workload and rule),
 * and pruned by event time as it goes.
 */
export class MemoryDetectionState implements DetectionState {
  readonly #windows = new Map<string, WindowEntry[]>();
  readonly #histories = new Map<string, Map<string, number>>();
  readonly #buckets = new Map<string, Map<number, number>>();
  readonly #cooldowns = new Map<string, number>();

  async addToWindow(
    key: StateKey,
    entry: WindowEntry,
    windowMs: number,
    max: number,
  ): Promise<WindowEntry[]> {
    const id = keyOf(key);
    const floor = entry.at - windowMs;
    const kept = (this.#windows.get(id) ?? []).filter((e) => e.at > floor);
    // Ordered by time, then id, as the Redis sorted set orders equal scores.
    let at = kept.length;
    while (at > 0 && compare(kept[at - 1] as WindowEntry, entry) > 0) at--;
    if (!kept.some((e) => e.id === entry.id)) kept.splice(at, 0, entry);
    const bounded = kept.length > max ? kept.slice(kept.length - max) : kept;
    this.#windows.set(id, bounded);
    return [...bounded];
  }

  async remember(
    key: StateKey,
    values: readonly string[],
    at: number,
    keepMs: number,
    max: number,
  ): Promise<{ fresh: string[]; known: number }> {
    const id = keyOf(key);
    const history = this.#histories.get(id) ?? new Map<string, number>();
    for (const [value, seen] of history) if (seen <= at - keepMs) history.delete(value);
    const known = history.size;
    const fresh: string[] = [];
    for (const value of values) {
      const seen = history.get(value);
      if (seen === undefined) fresh.push(value);
      if (seen === undefined || seen < at) history.set(value, at);
    }
    if (history.size > max) {
      // The least recently seen go first, as `ZREMRANGEBYRANK` drops the lowest scores.
      const order = [...history].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
      for (const [value] of order.slice(0, history.size - max)) history.delete(value);
    }
    this.#histories.set(id, history);
    return { fresh, known };
  }

  async countInBucket(
    key: StateKey,
    at: number,
    bucketMs: number,
    span: number,
  ): Promise<{ current: number; previous: number }> {
    const id = keyOf(key);
    const buckets = this.#buckets.get(id) ?? new Map<number, number>();
    const bucket = Math.floor(at / bucketMs);
    const current = (buckets.get(bucket) ?? 0) + 1;
    buckets.set(bucket, current);
    let previous = 0;
    for (const [b, n] of buckets) {
      if (b < bucket - span) buckets.delete(b);
      else if (b < bucket) previous += n;
    }
    this.#buckets.set(id, buckets);
    return { current, previous };
  }

  async startCooldown(key: StateKey, at: number, cooldownMs: number): Promise<boolean> {
    const id = keyOf(key);
    const until = this.#cooldowns.get(id);
    if (until !== undefined && at < until) return false;
    this.#cooldowns.set(id, at + cooldownMs);
    return true;
  }
}

function keyOf(key: StateKey): string {
  return `${key.rule}\u0000${key.workload}`;
}

function compare(a: WindowEntry, b: WindowEntry): number {
  return a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
