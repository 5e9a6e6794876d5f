/**
 * What detections remember between events, behind one interface with two homes: Redis
 * (`redis-state.ts`, shared by every replica, so events from any of them count toward one
 * threshold) and memory (`memory-state.ts`, for replay and tests). Every operation names
 * one workload and one rule, and takes the time from the event, never from a clock, so a
 * replay of recorded events and the live path reach the same answers.
 *
 * Bounds, per workload and rule: a window keeps at most `max` entries (the rule's `count`,
 * itself at most 1,000), a history at most `max` items (512), a baseline at most 1,440
 * buckets; every key expires once its window, history or cool-down has passed.
 */
/** A value now (the memory store) or later (Redis): replay pays for no promise it does not need. */
export type Maybe<T> = T | Promise<T>;

/** `fn` applied to `value`, at once when it is already there. */
export function andThen<T, U>(value: Maybe<T>, fn: (v: T) => Maybe<U>): Maybe<U> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}

export interface StateKey {
  rule: string;
  workload: string;
}

export interface WindowEntry {
  /** The event's id and its replica's chain position. */
  id: string;
  seq: number;
  instance: string;
  at: number;
}

export interface DetectionState {
  /**
   * Adds an entry to the rule's sliding window and returns the entries within
   * `windowMs` of `at` (at most `max`, the newest ones), oldest first. The answer is read
   * before the next operation and never changed (the memory store answers its own array).
   */
  addToWindow(
    key: StateKey,
    entry: WindowEntry,
    windowMs: number,
    max: number,
  ): Maybe<WindowEntry[]>;
  /**
   * Records `values` as seen at `at`; answers the ones not seen within `keepMs` before it,
   * and how many items the history held before (0: nothing known yet).
   */
  remember(
    key: StateKey,
    values: readonly string[],
    at: number,
    keepMs: number,
    max: number,
  ): Maybe<{ fresh: string[]; known: number }>;
  /**
   * Counts one in the bucket of `at` (`bucketMs` wide) and answers that bucket's count and
   * the sum of the `span` buckets before it.
   */
  countInBucket(
    key: StateKey,
    at: number,
    bucketMs: number,
    span: number,
  ): Maybe<{ current: number; previous: number }>;
  /** Starts a cool-down unless one runs: true when it started (the caller may act). */
  startCooldown(key: StateKey, at: number, cooldownMs: number): Maybe<boolean>;
  close?(): Promise<void>;
}
