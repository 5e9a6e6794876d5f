import type { DetectionState, StateKey, WindowEntry } from './state.js';

interface History {
  seen: Map<string, number>;
  /** No item was seen before this (ms): nothing to prune until `at - keepMs` passes it. */
  oldest: number;
}

interface Buckets {
  counts: Map<number, number>;
  /** The bucket last counted in, and the sum of the `span` before it (unchanged within it). */
  bucket: number;
  previous: number;
}

/**
 * Detection state in one process: replay and tests. The same answers as the Redis store for
 * the same events (`test/integration/detections-state.test.ts` runs both); bounded the same
 * way (entries, items, buckets per workload and rule), and pruned by event time as it goes.
 * Replay runs through it at 50,000+ events a second, so each operation does only what the
 * event changes.
 */
export class MemoryDetectionState implements DetectionState {
  readonly #windows = new Map<string, WindowEntry[]>();
  readonly #histories = new Map<string, History>();
  readonly #buckets = new Map<string, Buckets>();
  readonly #cooldowns = new Map<string, number>();

  addToWindow(key: StateKey, entry: WindowEntry, windowMs: number, max: number): WindowEntry[] {
    const id = keyOf(key);
    let kept = this.#windows.get(id);
    if (kept === undefined) {
      kept = [];
      this.#windows.set(id, kept);
    }
    const floor = entry.at - windowMs;
    let old = 0;
    while (old < kept.length && (kept[old] as WindowEntry).at <= floor) old++;
    if (old > 0) kept.splice(0, old);
    // Ordered by time, then id, as the Redis sorted set orders equal scores.
    let at = kept.length;
    while (at > 0 && compare(kept[at - 1] as WindowEntry, entry) > 0) at--;
    if (!kept.some((e) => e.id === entry.id)) kept.splice(at, 0, entry);
    if (kept.length > max) kept.splice(0, kept.length - max);
    // The store's own array: callers read it before the next operation and never change it.
    return kept;
  }

  remember(
    key: StateKey,
    values: readonly string[],
    at: number,
    keepMs: number,
    max: number,
  ): { fresh: string[]; known: number } {
    const id = keyOf(key);
    let history = this.#histories.get(id);
    if (history === undefined) {
      history = { seen: new Map(), oldest: Number.POSITIVE_INFINITY };
      this.#histories.set(id, history);
    }
    const { seen } = history;
    const floor = at - keepMs;
    if (history.oldest <= floor) {
      let oldest = Number.POSITIVE_INFINITY;
      for (const [value, time] of seen) {
        if (time <= floor) seen.delete(value);
        else if (time < oldest) oldest = time;
      }
      history.oldest = oldest;
    }
    const known = seen.size;
    let fresh: string[] = NONE;
    for (const value of values) {
      const time = seen.get(value);
      if (time === undefined) {
        if (fresh === NONE) fresh = [];
        fresh.push(value);
      }
      if (time === undefined || time < at) seen.set(value, at);
      if (at < history.oldest) history.oldest = at;
    }
    while (seen.size > max) {
      // The least recently seen goes first, as `ZREMRANGEBYRANK` drops the lowest score
      // (ties by value, as Redis orders equal scores).
      let victim: string | undefined;
      let victimAt = Number.POSITIVE_INFINITY;
      for (const [value, time] of seen) {
        if (time < victimAt || (time === victimAt && victim !== undefined && value < victim)) {
          victim = value;
          victimAt = time;
        }
      }
      if (victim === undefined) break;
      seen.delete(victim);
    }
    return { fresh, known };
  }

  countInBucket(
    key: StateKey,
    at: number,
    bucketMs: number,
    span: number,
  ): { current: number; previous: number } {
    const id = keyOf(key);
    const bucket = Math.floor(at / bucketMs);
    let state = this.#buckets.get(id);
    if (state === undefined) {
      state = { counts: new Map(), bucket: Number.NaN, previous: 0 };
      this.#buckets.set(id, state);
    }
    const current = (state.counts.get(bucket) ?? 0) + 1;
    state.counts.set(bucket, current);
    if (bucket !== state.bucket) {
      let previous = 0;
      for (const [b, n] of state.counts) {
        if (b < bucket - span) state.counts.delete(b);
        else if (b < bucket) previous += n;
      }
      state.bucket = bucket;
      state.previous = previous;
    }
    return { current, previous: state.previous };
  }

  startCooldown(key: StateKey, at: number, cooldownMs: number): boolean {
    const id = keyOf(key);
    const until = this.#cooldowns.get(id);
    if (until !== undefined && at < until) return false;
    this.#cooldowns.set(id, at + cooldownMs);
    return true;
  }
}

/** The answer of a history that knew every value (shared, never changed). */
const NONE: string[] = [];

/** One string per (rule, workload), made once: replay asks millions of times. */
const KEYS = new WeakMap<StateKey, string>();
function keyOf(key: StateKey): string {
  let id = KEYS.get(key);
  if (id === undefined) {
    id = `${key.rule}\u0000${key.workload}`;
    KEYS.set(key, id);
  }
  return id;
}

function compare(a: WindowEntry, b: WindowEntry): number {
  return a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
