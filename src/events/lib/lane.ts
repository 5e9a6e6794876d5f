import type { EventSink } from '../sink.js';
import type { BrokerEvent } from '../types.js';
import { isSheddable } from './event-class.js';

export interface SinkStats {
  /** Events the sink accepted. */
  written: number;
  /** Events never handed to the sink because its queue was full or the bus closed. */
  dropped: number;
  /** Write attempts that failed (each is retried). */
  failed: number;
  /** Events waiting, including a batch in flight. */
  queued: number;
}

export interface LaneOptions {
  /** Essential events (everything not sheddable) the queue may hold. */
  maxQueue: number;
  /** Sheddable events the queue may hold, on top of `maxQueue`. */
  maxSheddable: number;
  batchSize: number;
  retryBaseMs: number;
  retryMaxMs: number;
  report: (sink: string, err: unknown) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * One sink's delivery queue. At most one batch is in flight, and a failed batch stays at
 * the head of the queue, so the sink sees every event it accepts in seq order and none
 * twice. A failure backs off exponentially; a caller waiting on delivery (issuance) cuts
 * the back-off short so a recovered sink is noticed at once.
 *
 * Sheddable events (`event-class.ts`) are bounded apart from the rest: however many of them
 * arrive, they take none of the room essential events have, and since at most
 * `maxSheddable` of them wait in the queue, they delay an issuance behind them by at most
 * that many events' writing.
 */
export class SinkLane {
  readonly sink: EventSink;
  readonly #options: LaneOptions;
  readonly #queue: BrokerEvent[] = [];
  readonly #waiters = new Map<number, Waiter[]>();
  #idle: (() => void)[] = [];
  #running = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #consecutiveFailures = 0;
  #lastWrittenSeq = -1;
  #sheddableQueued = 0;
  #closed = false;
  #written = 0;
  #dropped = 0;
  #failed = 0;

  constructor(sink: EventSink, options: LaneOptions) {
    this.sink = sink;
    this.#options = options;
  }

  /** No room for another essential event: a fail-closed emit must not be chained behind this. */
  get blocked(): boolean {
    return this.#closed || this.#queue.length - this.#sheddableQueued >= this.#options.maxQueue;
  }

  /** Room for another sheddable event within its share of the queue. */
  get takesSheddable(): boolean {
    return !this.#closed && this.#sheddableQueued < this.#options.maxSheddable;
  }

  /** The last write attempt succeeded (or none has failed yet) and the queue has room. */
  get healthy(): boolean {
    return this.#consecutiveFailures === 0 && !this.blocked;
  }

  /** Sheddable events waiting, including any in the batch in flight. */
  get sheddableQueued(): number {
    return this.#sheddableQueued;
  }

  stats(): SinkStats {
    return {
      written: this.#written,
      dropped: this.#dropped,
      failed: this.#failed,
      queued: this.#queue.length,
    };
  }

  /** Queues an event for delivery; returns false (and counts and reports it) if dropped. */
  enqueue(event: BrokerEvent): boolean {
    const sheddable = isSheddable(event.type);
    if (sheddable ? !this.takesSheddable : this.blocked) {
      this.#dropped += 1;
      const why = this.#closed
        ? 'closed'
        : sheddable
          ? 'share for sheddable events full'
          : 'queue full';
      this.#options.report(
        this.sink.name,
        new Error(`event sink ${this.sink.name} ${why}: dropped ${event.type} seq ${event.seq}`),
      );
      return false;
    }
    this.#queue.push(event);
    if (sheddable) this.#sheddableQueued += 1;
    this.#kick();
    return true;
  }

  /**
   * Resolves once the event with this seq is written; rejects on the next failed attempt
   * (the event stays queued and is retried).
   */
  delivered(seq: number): Promise<void> {
    if (seq <= this.#lastWrittenSeq) return Promise.resolve();
    if (!this.#isQueued(seq)) {
      return Promise.reject(new Error(`event seq ${seq} is not queued for ${this.sink.name}`));
    }
    const promise = new Promise<void>((resolve, reject) => {
      const waiters = this.#waiters.get(seq) ?? [];
      waiters.push({ resolve, reject });
      this.#waiters.set(seq, waiters);
    });
    this.#retryNow();
    return promise;
  }

  /** Resolves when the queue is empty or after the next failed attempt. */
  flush(): Promise<void> {
    if (this.#closed || (this.#queue.length === 0 && !this.#running)) return Promise.resolve();
    const promise = new Promise<void>((resolve) => this.#idle.push(resolve));
    this.#retryNow();
    return promise;
  }

  /** Stops retrying; what is still queued stays counted as queued. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const err = new Error(`event sink ${this.sink.name} closed`);
    for (const waiters of this.#waiters.values()) for (const waiter of waiters) waiter.reject(err);
    this.#waiters.clear();
    this.#settleIdle();
  }

  #isQueued(seq: number): boolean {
    return this.#queue.at(-1)?.seq === seq || this.#queue.some((event) => event.seq === seq);
  }

  #retryNow(): void {
    if (this.#retryTimer === undefined || this.#closed) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#kick();
  }

  #kick(): void {
    if (this.#running || this.#retryTimer !== undefined || this.#queue.length === 0) return;
    this.#running = true;
    // A microtask later, so events emitted in the same tick travel in one batch.
    queueMicrotask(() => void this.#drain());
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const batch = this.#queue.slice(0, this.#options.batchSize);
        try {
          await this.sink.write(batch);
        } catch (err) {
          this.#failed += 1;
          this.#consecutiveFailures += 1;
          this.#rejectWaiters(err);
          this.#options.report(this.sink.name, err);
          this.#scheduleRetry();
          return;
        }
        this.#queue.splice(0, batch.length);
        for (const event of batch) if (isSheddable(event.type)) this.#sheddableQueued -= 1;
        this.#written += batch.length;
        this.#consecutiveFailures = 0;
        const last = batch.at(-1);
        if (last !== undefined) this.#lastWrittenSeq = last.seq;
        for (const event of batch) {
          const waiters = this.#waiters.get(event.seq);
          if (waiters === undefined) continue;
          this.#waiters.delete(event.seq);
          for (const waiter of waiters) waiter.resolve();
        }
      }
    } finally {
      this.#running = false;
      this.#settleIdle();
    }
  }

  #rejectWaiters(err: unknown): void {
    for (const waiters of this.#waiters.values()) for (const waiter of waiters) waiter.reject(err);
    this.#waiters.clear();
  }

  #settleIdle(): void {
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }

  #scheduleRetry(): void {
    if (this.#closed) return;
    const exponent = Math.min(this.#consecutiveFailures - 1, 30);
    const ceiling = Math.min(this.#options.retryMaxMs, this.#options.retryBaseMs * 2 ** exponent);
    // Jitter so replicas that lost the same sink do not retry in lock-step.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#kick();
    }, delay);
    this.#retryTimer.unref();
  }
}
