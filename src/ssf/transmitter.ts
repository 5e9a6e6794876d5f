import { randomBytes } from 'node:crypto';
import type { BrokerEvent, EventEmitter } from '../events/types.js';
import { compileGlob, type Glob } from '../lib/glob.js';
import type { Logger } from '../lib/logger.js';
import type { SsfConfig, SsfReceiverConfig } from './config.js';
import { type DeliveryOutcome, pushSet } from './deliver.js';
import type { SetSigningKey } from './key.js';
import type { SsfMetrics } from './metrics.js';
import type { ClaimedSet, DeliveryQueue, PendingSet } from './queue.js';
import { signSet } from './sign.js';
import { type Signal, signalsOf } from './signals.js';

export interface TransmitterOptions {
  readonly config: SsfConfig;
  /** The SETs' `iss`. */
  readonly issuer: string;
  readonly key: SetSigningKey;
  readonly queue: DeliveryQueue;
  readonly events: EventEmitter;
  readonly logger: Logger;
  readonly metrics: SsfMetrics;
  readonly fetch?: typeof fetch;
  /** How often a replica looks for SETs due (retries, and SETs other replicas queued). */
  readonly pollMs?: number;
  /** SETs claimed per round. */
  readonly batch?: number;
  /** Pushes in flight to one receiver from this replica; default `batch`. */
  readonly lane?: number;
  readonly now?: () => number;
}

interface Receiver {
  readonly config: SsfReceiverConfig;
  readonly workloads: readonly Glob[] | undefined;
}

/**
 * The Shared Signals transmitter of one replica. It observes the events this replica emits
 * and queues a SET per signal and interested receiver in the shared queue (each event is
 * emitted by one replica, so it is queued once); every replica delivers from the queue.
 * Observing only queues: the kill switch and issuance never wait on a receiver.
 */
export class SsfTransmitter {
  readonly #o: TransmitterOptions;
  readonly #receivers: Map<string, Receiver>;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  /** Queueing in flight, so `stop()` can wait for what was observed. */
  readonly #queueing = new Set<Promise<void>>();
  /** Deliveries in flight, so `stop()` can wait for them. */
  readonly #delivering = new Set<Promise<void>>();
  /** Pushes in flight per receiver. */
  readonly #busy = new Map<string, number>();

  constructor(options: TransmitterOptions) {
    this.#o = options;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#now = options.now ?? Date.now;
    this.#receivers = new Map(
      options.config.receivers.map((r) => [
        r.name,
        { config: r, workloads: r.workloads?.map((p) => compileGlob(p)) },
      ]),
    );
  }

  /** Bus listener: synchronous, never throws, never waits. */
  observe(event: BrokerEvent): void {
    if (this.#stopped || this.#receivers.size === 0) return;
    const signals = signalsOf(event);
    if (signals.length === 0) return;
    const queuedAt = this.#now();
    const sets: PendingSet[] = [];
    for (const signal of signals) {
      for (const receiver of this.#receivers.values()) {
        if (!wants(receiver, signal)) continue;
        sets.push({
          id: `set_${randomBytes(16).toString('base64url')}`,
          receiver: receiver.config.name,
          signal,
          attempts: 0,
          queuedAt,
        });
      }
    }
    if (sets.length === 0) return;
    const queueing = this.#enqueue(sets).finally(() => this.#queueing.delete(queueing));
    this.#queueing.add(queueing);
  }

  start(): void {
    this.#stopped = false;
    const poll = this.#o.pollMs ?? 500;
    this.#timer = setInterval(() => this.wake(), poll);
    this.#timer.unref();
    this.wake();
  }

  /** Finishes what was observed, the round and the pushes in flight; SETs left wait in the queue. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([...this.#queueing]);
    await this.#running;
    await Promise.allSettled([...this.#delivering]);
  }

  /** Runs a delivery round now (or right after the one in flight). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = this.#round()
      .catch((err: unknown) =>
        this.#o.logger.warn({ err: errorName(err) }, 'ssf delivery round failed'),
      )
      .finally(() => {
        this.#running = undefined;
        if (this.#again && !this.#stopped) {
          this.#again = false;
          this.wake();
        }
      });
  }

  async #enqueue(sets: PendingSet[]): Promise<void> {
    try {
      const dropped = await this.#o.queue.enqueue(sets, this.#o.config.delivery.max_queue);
      for (const set of dropped) this.#giveUp(set, 'queue_full', 'the queue was full');
      this.wake();
    } catch (err) {
      // The SETs are lost: as loud as a dropped one.
      for (const set of sets) this.#giveUp(set, 'queue_unavailable', errorName(err));
    }
  }

  /**
   * Claims what is due and starts its pushes without waiting for them: each receiver has a
   * lane of at most `lane` pushes in flight, and a SET for a receiver whose lane is full (one
   * slow to answer, or hanging until the timeout) goes back to the queue untried, so it
   * never holds up the SETs of the others.
   */
  async #round(): Promise<void> {
    const { delivery } = this.#o.config;
    const batch = this.#o.batch ?? 32;
    const lane = this.#o.lane ?? batch;
    for (;;) {
      const now = this.#now();
      const claims = await this.#o.queue.claim(now, now + delivery.claim_timeout, batch);
      for (const claimed of claims) {
        const receiver = claimed.set.receiver;
        const busy = this.#busy.get(receiver) ?? 0;
        if (busy >= lane) {
          await this.#o.queue.release(claimed, now + (this.#o.pollMs ?? 500));
          continue;
        }
        this.#busy.set(receiver, busy + 1);
        const delivering: Promise<void> = this.#deliver(claimed)
          .catch((err: unknown) =>
            this.#o.logger.warn({ err: errorName(err), receiver }, 'ssf delivery failed'),
          )
          .finally(() => {
            const left = (this.#busy.get(receiver) ?? 1) - 1;
            if (left > 0) this.#busy.set(receiver, left);
            else this.#busy.delete(receiver);
            this.#delivering.delete(delivering);
            this.wake();
          });
        this.#delivering.add(delivering);
      }
      if (claims.length < batch || this.#stopped) break;
    }
    this.#o.metrics.queueDepth.set(await this.#o.queue.depth());
  }

  async #deliver(claimed: ClaimedSet): Promise<void> {
    const { set } = claimed;
    const receiver = this.#receivers.get(set.receiver);
    if (receiver === undefined) {
      // Queued before a restart that removed the receiver.
      if (await this.#o.queue.finish(claimed)) {
        this.#giveUp(set, 'receiver_removed', 'the receiver is no longer configured');
      }
      return;
    }
    // A SET that cannot be signed is a failed attempt like any other: it ends, reported.
    const outcome = await this.#push(receiver, set).catch(
      (err: unknown): DeliveryOutcome => ({
        ok: false,
        permanent: false,
        error: `not signed: ${errorName(err)}`,
      }),
    );
    if (outcome.ok) {
      if (await this.#o.queue.finish(claimed))
        this.#o.metrics.delivered.inc({ receiver: set.receiver });
      return;
    }
    const attempts = set.attempts + 1;
    if (outcome.permanent || attempts >= this.#o.config.delivery.max_attempts) {
      if (await this.#o.queue.finish(claimed)) {
        this.#giveUp(
          { ...set, attempts },
          outcome.permanent ? 'refused' : 'attempts_exhausted',
          outcome.error,
        );
      }
      return;
    }
    if (await this.#o.queue.retry(claimed, this.#now() + this.backoff(attempts))) {
      this.#o.metrics.retried.inc({ receiver: set.receiver });
      this.#o.logger.warn(
        { receiver: set.receiver, attempts, err: outcome.error },
        'ssf push failed; retrying',
      );
    }
  }

  async #push(receiver: Receiver, set: PendingSet): Promise<DeliveryOutcome> {
    const { token } = await signSet(
      this.#o.key,
      { issuer: this.#o.issuer, audience: receiver.config.audience },
      set.signal,
      new Date(this.#now()),
      set.id,
    );
    return pushSet(
      {
        url: receiver.config.url,
        ...(receiver.config.authorization === undefined
          ? {}
          : { authorization: receiver.config.authorization }),
        timeoutMs: this.#o.config.delivery.timeout,
        fetch: this.#fetch,
      },
      token,
    );
  }

  /** Exponential backoff with full jitter in [base·2^(n-1) / 2, base·2^(n-1)], capped. */
  backoff(attempts: number): number {
    const { backoff_base, backoff_max } = this.#o.config.delivery;
    const ceiling = Math.min(backoff_max, backoff_base * 2 ** Math.min(attempts - 1, 30));
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  #giveUp(set: PendingSet, reason: string, error: string): void {
    this.#o.metrics.failed.inc({ receiver: set.receiver, reason });
    if (reason === 'queue_full') this.#o.metrics.dropped.inc({ receiver: set.receiver });
    this.#o.logger.error(
      { receiver: set.receiver, reason, err: error, set_jti: set.id, txn: set.signal.txn },
      'ssf: a security event token was not delivered',
    );
    this.#o.events
      .emit(
        {
          type: 'ssf.delivery_failed',
          severity: 'high',
          outcome: 'failure',
          workload: set.signal.workload,
          ...(set.signal.jit.lease_id === undefined ? {} : { lease_id: set.signal.jit.lease_id }),
          reason,
          detail: {
            receiver: set.receiver,
            event: set.signal.kind,
            set_jti: set.id,
            txn: set.signal.txn,
            attempts: set.attempts,
            error,
          },
        },
        { failClosed: false },
      )
      .catch((err: unknown) =>
        this.#o.logger.error({ err: errorName(err) }, 'ssf.delivery_failed not emitted'),
      );
  }
}

function wants(receiver: Receiver, signal: Signal): boolean {
  const events = receiver.config.events;
  if (events !== undefined && !events.includes(signal.kind)) return false;
  return (
    receiver.workloads === undefined || receiver.workloads.some((g) => g.test(signal.workload))
  );
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : 'error';
}
