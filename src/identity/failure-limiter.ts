export interface FailureLimit {
  readonly maxFailures: number;
  readonly windowMs: number;
  /** Sources tracked at once; the oldest is forgotten beyond this, so memory stays bounded. */
  readonly maxSources: number;
}

/**
 * Counts failures per source in a sliding window. Per process: replicas each allow their own
 * quota, which still turns guessing a 256-bit token from hopeless into more hopeless; the
 * point is to make online guessing loud and slow, not to be exact.
 */
export class FailureLimiter {
  readonly #limit: FailureLimit;
  readonly #now: () => number;
  readonly #failures = new Map<string, number[]>();

  constructor(limit: FailureLimit, now: () => number) {
    this.#limit = limit;
    this.#now = now;
  }

  isLimited(source: string): boolean {
    return this.#recent(source).length >= this.#limit.maxFailures;
  }

  recordFailure(source: string): void {
    const recent = this.#recent(source);
    recent.push(this.#now());
    // Only the newest `maxFailures` decide whether the source is limited: keeping more would
    // let a flood of guesses make every check scan (and copy) an ever longer list.
    if (recent.length > this.#limit.maxFailures) {
      recent.splice(0, recent.length - this.#limit.maxFailures);
    }
    // Re-insert so Map order is least recently failed first.
    this.#failures.delete(source);
    this.#failures.set(source, recent);
    if (this.#failures.size > this.#limit.maxSources) {
      const oldest = this.#failures.keys().next();
      if (oldest.done !== true) this.#failures.delete(oldest.value);
    }
  }

  #recent(source: string): number[] {
    const since = this.#now() - this.#limit.windowMs;
    const recent = (this.#failures.get(source) ?? []).filter((at) => at > since);
    if (recent.length === 0) this.#failures.delete(source);
    else this.#failures.set(source, recent);
    return recent;
  }
}
