import type { EventEmitter, EventInput } from './types.js';

/** An `auth.failed` event as `reportAuthFailure` builds it for one refused token. */
export type AuthFailedEvent = EventInput & { type: 'auth.failed'; reason: string };

export interface AuthFailureAggregatorOptions {
  events: EventEmitter;
  /**
   * False while the event bus would shed an `auth.failed` (a sink holds its share): the
   * refusal is then counted into the next summary instead of being lost.
   */
  hasRoom?: () => boolean;
  /** Length of an aggregation window. Default 60 s. */
  windowMs?: number;
  /** Refusals per (source, reason) and window that are events of their own. Default 10. */
  burst?: number;
  /** (source, reason) pairs tracked at once; further sources share one tally per reason. Default 1,000. */
  maxSources?: number;
  /** Told when emitting an event failed (an instrumentation wrapper threw). */
  onError?: (err: unknown) => void;
  now?: () => number;
}

/** What a summary carries under `detail`; `count` is what a SIEM sums. */
export type AuthFailureSummary = {
  /** Refusals this event stands for, none of which had an event of its own. */
  count: number;
  /** The aggregation window. */
  window_ms: number;
  first_at: string;
  last_at: string;
  /** On the tally of sources beyond `maxSources`, which has no `source_ip`. */
  untracked_sources?: true;
};

interface Tally {
  sourceIp: string | undefined;
  reason: string;
  untracked: boolean;
  /** Events of their own emitted in this window. */
  reported: number;
  /** Refusals counted since the last summary. */
  folded: number;
  firstAt: number;
  lastAt: number;
}

/**
 * Turns refused tokens into `auth.failed` events at a bounded rate. Per (source address,
 * reason), the first `burst` refusals of a window are events as before (with their token
 * hash and request id); the rest are counted, and one summary per pair at the window's end
 * carries the count (`detail.count`, `window_ms`, `first_at`, `last_at`). Every refusal is
 * thus in exactly one event: a SIEM sums `detail.count`, taking 1 for an event without it.
 *
 * Memory is bounded whatever an attacker sends: at most `maxSources` pairs are tracked;
 * refusals from further sources go to one tally per reason (a closed set) whose summary
 * has no address. So at most (`maxSources` + reasons) × (`burst` + 1) events a window.
 *
 * The same window bounds a single prober like the kernel's printk rate limit: a burst in
 * full, then "N suppressed".
 */
export class AuthFailureAggregator {
  readonly #events: EventEmitter;
  readonly #hasRoom: () => boolean;
  readonly #windowMs: number;
  readonly #burst: number;
  readonly #maxSources: number;
  readonly #onError: (err: unknown) => void;
  readonly #now: () => number;
  readonly #tallies = new Map<string, Tally>();
  readonly #untracked = new Map<string, Tally>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: AuthFailureAggregatorOptions) {
    this.#events = options.events;
    this.#hasRoom = options.hasRoom ?? (() => true);
    this.#windowMs = options.windowMs ?? 60_000;
    this.#burst = options.burst ?? 10;
    this.#maxSources = options.maxSources ?? 1_000;
    this.#onError = options.onError ?? (() => {});
    this.#now = options.now ?? Date.now;
    if (!(this.#windowMs > 0)) throw new TypeError('windowMs must be positive');
    for (const [name, value] of [
      ['burst', this.#burst],
      ['maxSources', this.#maxSources],
    ] as const) {
      if (!Number.isInteger(value) || value < 0) {
        throw new TypeError(`${name} must be a non-negative integer`);
      }
    }
  }

  /** Pairs tracked now, untracked tallies included (for tests and metrics). */
  get tracked(): number {
    return this.#tallies.size + this.#untracked.size;
  }

  /**
   * Records one refusal: emits its event, or counts it for the window's summary. Resolves
   * when an emitted event is chained (the bus never waits on sinks for these).
   */
  report(event: AuthFailedEvent): Promise<void> {
    // Once closed there is no later window to summarise in; the bus decides.
    if (this.#closed) return this.#events.emit(event, { failClosed: false });
    this.#startWindows();
    const tally = this.#tallyOf(event);
    if (tally.reported < this.#burst && this.#hasRoom()) {
      tally.reported += 1;
      return this.#events.emit(event, { failClosed: false });
    }
    const now = this.#now();
    if (tally.folded === 0) tally.firstAt = now;
    tally.folded += 1;
    tally.lastAt = now;
    return Promise.resolve();
  }

  /**
   * Ends the window: a summary for every pair with counted refusals, and a fresh window.
   * A summary the bus has no room for stays counted (and its pair tracked) until a later
   * window, so a slow sink costs detail, never a count.
   */
  flush(): void {
    for (const tallies of [this.#tallies, this.#untracked]) {
      for (const [key, tally] of tallies) {
        if (tally.folded > 0) {
          if (!this.#hasRoom()) continue;
          this.#emitSummary(tally);
        }
        tallies.delete(key);
      }
    }
  }

  /** Emits every pending summary, room or not (the bus counts any it sheds), and stops. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const tallies of [this.#tallies, this.#untracked]) {
      for (const tally of tallies.values()) if (tally.folded > 0) this.#emitSummary(tally);
      tallies.clear();
    }
  }

  #tallyOf(event: AuthFailedEvent): Tally {
    const key = `${event.source_ip ?? ''} ${event.reason}`;
    const known = this.#tallies.get(key);
    if (known !== undefined) return known;
    if (this.#tallies.size < this.#maxSources) {
      const tally = newTally(event.source_ip, event.reason, false);
      this.#tallies.set(key, tally);
      return tally;
    }
    const untracked = this.#untracked.get(event.reason);
    if (untracked !== undefined) return untracked;
    const tally = newTally(undefined, event.reason, true);
    this.#untracked.set(event.reason, tally);
    return tally;
  }

  /** Windows tick only while something is tracked: an idle broker keeps no timer. */
  #startWindows(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => {
      this.flush();
      if (this.tracked === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    }, this.#windowMs);
    this.#timer.unref();
  }

  #emitSummary(tally: Tally): void {
    const detail: AuthFailureSummary = {
      count: tally.folded,
      window_ms: this.#windowMs,
      first_at: new Date(tally.firstAt).toISOString(),
      last_at: new Date(tally.lastAt).toISOString(),
      ...(tally.untracked ? { untracked_sources: true as const } : {}),
    };
    tally.folded = 0;
    this.#events
      .emit(
        {
          type: 'auth.failed',
          outcome: 'failure',
          reason: tally.reason,
          ...(tally.sourceIp === undefined ? {} : { source_ip: tally.sourceIp }),
          detail,
        },
        { failClosed: false },
      )
      .catch(this.#onError);
  }
}

function newTally(sourceIp: string | undefined, reason: string, untracked: boolean): Tally {
  return { sourceIp, reason, untracked, reported: 0, folded: 0, firstAt: 0, lastAt: 0 };
}

/**
 * The summary an `auth.failed` event carries, for formats with fields of their own for it
 * (OCSF `count`/`start_time`/`end_time`, CEF `cnt`); undefined for a single refusal.
 */
export function summaryOf(
  event: Pick<EventInput, 'type' | 'detail'>,
): { count: number; firstAt: number; lastAt: number } | undefined {
  if (event.type !== 'auth.failed') return undefined;
  const count = event.detail?.count;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) return undefined;
  const firstAt = Date.parse(String(event.detail?.first_at));
  const lastAt = Date.parse(String(event.detail?.last_at));
  if (!Number.isFinite(firstAt) || !Number.isFinite(lastAt)) return undefined;
  return { count, firstAt, lastAt };
}
