import { BrokerError } from '../errors.js';
import { withTimeout } from '../lib/time-limit.js';
import { type Ed25519PublicJwk, EventChain } from './chain.js';
import { isSheddable } from './lib/event-class.js';
import { SinkLane, type SinkStats } from './lib/lane.js';
import { DEFAULT_LIMITS, type RedactionLimits, redactEvent } from './redact.js';
import { AuditKeyring, type AuditKeySource, type AuditPublicJwk } from './signing/index.js';
import { type EventSink, REQUIRED_SINK_WAIT_MS } from './sink.js';
import type { BrokerEvent, EmitOptions, EventEmitter, EventInput, EventType } from './types.js';

export type { SinkStats } from './lib/lane.js';

export interface EventBusOptions {
  sinks: EventSink[];
  /** Told about every failed write, every dropped event and every listener that threw. */
  onError?: (sink: string, err: unknown) => void;
  now?: () => Date;
  /** Events each sink may hold while it is slow or down. Default 20,000. */
  maxQueue?: number;
  /**
   * Sheddable events (auth failures, `lib/event-class.ts`) each sink may hold on top of
   * `maxQueue`; past that they are shed before chaining. Default: `batchSize`, so however
   * many arrive, they add at most about one batch's write to an issuance's wait.
   */
  maxSheddable?: number;
  /** Told about each event shed before chaining (metrics count them). */
  onShed?: (type: EventType) => void;
  /** Events per write. Default 100. */
  batchSize?: number;
  /** How long a fail-closed emit waits for its required sinks. Default 5,000 ms. */
  writeTimeoutMs?: number;
  /** Back-off after a failed write, doubled per failure. Defaults 100 ms up to 30 s. */
  retry?: { baseMs?: number; maxMs?: number };
  limits?: Partial<RedactionLimits>;
  /**
   * When to sign a `chain.checkpoint`: after `everyEvents` unsigned events (default 100), and
   * at most `maxDelayMs` after the first unsigned event (default 1,000 ms), so no event
   * stays unsigned longer than that. `flush()` and `close()` also sign one.
   */
  checkpoint?: { everyEvents?: number; maxDelayMs?: number };
  /**
   * The keys the chain is signed with (`events.signing`, shared by every replica). Default:
   * a key of this replica's own, which nothing outside the chain vouches for.
   */
  signing?: AuditKeyring;
}

export interface EventBusStats {
  /** Events chained, genesis included. */
  emitted: number;
  /** Secret-looking values replaced before chaining. */
  redacted: number;
  /** Strings, arrays and objects cut to size before chaining. */
  truncated: number;
  /** Sheddable events not chained because a sink held its share of them. */
  shed: number;
  sinks: Record<string, SinkStats>;
}

/** Name under which listener failures reach `onError`. */
export const SUBSCRIBER_ERROR_SOURCE = 'subscriber';

/**
 * Redacts, chains and fans events out to sinks. Chaining is synchronous, so events are
 * numbered in call order whatever the sinks do. Events are hash-linked, and a signed
 * `chain.checkpoint` follows at most every `checkpoint.everyEvents` events and at most
 * `checkpoint.maxDelayMs` after an event, instead of an Ed25519 signature per event (the
 * signature was most of an event's cost, and the kill switch emits thousands at once).
 * Issuance (`failClosed: true`) waits for every required sink and fails with
 * `audit_unavailable` if one cannot take the event; revocation (`failClosed: false`) never
 * waits. Either way an event, once chained, stays queued for its required sinks until
 * written, so the chain a SIEM sees has no gaps.
 *
 * Sheddable events (auth failures) have a small share of each sink's queue of their own.
 * When a sink holds its share, a sheddable event is shed *before* it is chained, counted
 * and reported, so every sink's chain stays whole and an anonymous flood cannot crowd out
 * or delay issuance and revocation. `wouldShed` lets an emitter that can fold what it
 * would lose into a later event (the auth-failure aggregator) ask first.
 */
export class EventBus implements EventEmitter {
  readonly #keyring: AuditKeyring;
  readonly #chain: EventChain;
  readonly #lanes: SinkLane[];
  readonly #listeners = new Set<(event: BrokerEvent) => void>();
  readonly #onError: (sink: string, err: unknown) => void;
  readonly #onShed: (type: EventType) => void;
  readonly #now: () => Date;
  readonly #writeTimeoutMs: number;
  readonly #limits: RedactionLimits;
  readonly #checkpointEvery: number;
  readonly #checkpointDelayMs: number;
  #checkpointTimer: NodeJS.Timeout | undefined;
  #emitted = 0;
  #redacted = 0;
  #truncated = 0;
  #shed = 0;
  /** Set from the first shed event until a sheddable one is chained again: one report each. */
  #shedding = false;
  #closed = false;

  constructor(options: EventBusOptions) {
    this.#keyring = options.signing ?? AuditKeyring.ephemeral();
    const { kid, key } = this.#keyring.signingKey();
    this.#chain = new EventChain({ privateKey: key, kid, keySource: this.#keyring.source });
    const names = new Set<string>();
    for (const sink of options.sinks) {
      if (names.has(sink.name)) throw new TypeError(`duplicate event sink name ${sink.name}`);
      names.add(sink.name);
    }
    const onError = options.onError ?? (() => {});
    this.#onError = (sink, err) => {
      try {
        onError(sink, err);
      } catch {
        // A broken error reporter must not take the event pipeline down with it.
      }
    };
    const onShed = options.onShed ?? (() => {});
    this.#onShed = (type) => {
      try {
        onShed(type);
      } catch {
        // Counting a shed event must not fail the emit that shed it.
      }
    };
    this.#now = options.now ?? (() => new Date());
    this.#writeTimeoutMs = options.writeTimeoutMs ?? REQUIRED_SINK_WAIT_MS;
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.#checkpointEvery = options.checkpoint?.everyEvents ?? 100;
    this.#checkpointDelayMs = options.checkpoint?.maxDelayMs ?? 1_000;
    if (!Number.isInteger(this.#checkpointEvery) || this.#checkpointEvery < 1) {
      throw new TypeError('checkpoint.everyEvents must be a positive integer');
    }
    if (!(this.#checkpointDelayMs > 0)) {
      throw new TypeError('checkpoint.maxDelayMs must be positive');
    }
    const batchSize = options.batchSize ?? 100;
    const maxSheddable = options.maxSheddable ?? batchSize;
    if (!Number.isInteger(maxSheddable) || maxSheddable < 0) {
      throw new TypeError('maxSheddable must be a non-negative integer');
    }
    const laneOptions = {
      maxQueue: options.maxQueue ?? 20_000,
      maxSheddable,
      batchSize,
      retryBaseMs: options.retry?.baseMs ?? 100,
      retryMaxMs: options.retry?.maxMs ?? 30_000,
      report: this.#onError,
    };
    this.#lanes = options.sinks.map((sink) => new SinkLane(sink, laneOptions));
  }

  get instance(): string {
    return this.#chain.instance;
  }

  get publicKeyJwk(): Ed25519PublicJwk {
    return this.#chain.publicKeyJwk;
  }

  get keySource(): AuditKeySource {
    return this.#keyring.source;
  }

  /** The audit keys verifiers may anchor to (none when the key is this replica's own). */
  publishedKeys(): AuditPublicJwk[] {
    return this.#keyring.publicJwks();
  }

  /**
   * Announces the chain (genesis, seq 0) and waits until every required sink has it, so a
   * broker whose audit trail is down never reports ready. Rejects with `audit_unavailable`.
   */
  async start(): Promise<void> {
    this.#genesisOnce();
    await this.#requiredDelivery(0);
  }

  async emit(input: EventInput, options?: EmitOptions): Promise<void> {
    const failClosed = options?.failClosed ?? false;
    const sheddable = isSheddable(input.type);
    const fullForSheddable = sheddable ? this.#laneWithoutRoomForSheddable() : undefined;
    if (failClosed) {
      // Refuse before chaining: an issuance event that no required sink can queue would
      // otherwise have to be dropped, leaving a gap.
      const blocked = this.#lanes.find((lane) => lane.sink.mode === 'required' && lane.blocked);
      if (blocked !== undefined || fullForSheddable !== undefined || this.#closed) {
        throw new BrokerError('audit_unavailable', 'the audit trail cannot take more events', {
          retryAfter: 1,
        });
      }
    }
    this.#genesisOnce();
    if (fullForSheddable !== undefined) {
      this.#shedEvent(input.type, fullForSheddable);
      return;
    }
    if (sheddable) this.#shedding = false;
    const event = this.#record(input);
    if (failClosed) await this.#requiredDelivery(event.seq);
  }

  /**
   * Whether an event of this type emitted now would be shed rather than chained: a sink
   * holds its share of sheddable events, or the bus is closed. Never for essential events.
   */
  wouldShed(type: EventType): boolean {
    return isSheddable(type) && (this.#closed || this.#laneWithoutRoomForSheddable() !== undefined);
  }

  /** Live feed of every chained event (for SSE). A throwing listener is reported and skipped. */
  subscribe(listener: (event: BrokerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  stats(): EventBusStats {
    const sinks: Record<string, SinkStats> = {};
    for (const lane of this.#lanes) sinks[lane.sink.name] = lane.stats();
    return {
      emitted: this.#emitted,
      redacted: this.#redacted,
      truncated: this.#truncated,
      shed: this.#shed,
      sinks,
    };
  }

  /** Each sink's mode and health (`SinkLane.healthy`), for `/metrics`. */
  sinkHealth(): { sink: string; mode: EventSink['mode']; healthy: boolean }[] {
    return this.#lanes.map((lane) => ({
      sink: lane.sink.name,
      mode: lane.sink.mode,
      healthy: lane.healthy,
    }));
  }

  /**
   * Signs a checkpoint over what is not yet covered, then tries every sink now; resolves
   * when each is drained or has just failed an attempt, or after `timeoutMs` if one hangs.
   * Never rejects: failures reach `onError` and `stats()`.
   */
  async flush(timeoutMs?: number): Promise<void> {
    this.#checkpoint();
    const drained = Promise.all(this.#lanes.map((lane) => lane.flush())).then(() => {});
    if (timeoutMs === undefined) return drained;
    await withTimeout(drained, timeoutMs, 'flush').catch(() => {});
  }

  /**
   * Signs a last checkpoint and flushes once (waiting at most `writeTimeoutMs` for a hung
   * sink), then stops retrying and closes the sinks. Later emits are dropped and counted.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#checkpoint({ final: true });
    this.#closed = true;
    await this.flush(this.#writeTimeoutMs);
    for (const lane of this.#lanes) lane.close();
    await Promise.all(
      this.#lanes.map(async (lane) => {
        try {
          await lane.sink.close?.();
        } catch (err) {
          this.#onError(lane.sink.name, err);
        }
      }),
    );
  }

  #laneWithoutRoomForSheddable(): SinkLane | undefined {
    // Every sink, best-effort ones too: dropping a chained event at one sink would leave a
    // gap in its copy of the chain, while an event shed before chaining leaves none.
    return this.#lanes.find((lane) => !lane.takesSheddable);
  }

  #shedEvent(type: EventType, full: SinkLane): void {
    this.#shed += 1;
    this.#onShed(type);
    // One report per episode: a flood would otherwise turn into a flood of log lines.
    if (this.#shedding) return;
    this.#shedding = true;
    this.#onError(
      full.sink.name,
      new Error(
        `event sink ${full.sink.name} holds its share of sheddable events (${full.sheddableQueued}): shedding ${type} events until it catches up, each counted`,
      ),
    );
  }

  #genesisOnce(): void {
    if (!this.#chain.started) this.#dispatch(this.#chain.genesis(this.#now()));
  }

  #record(input: EventInput): BrokerEvent {
    const redaction = redactEvent(input, this.#limits);
    this.#redacted += redaction.redacted;
    this.#truncated += redaction.truncated;
    const event = this.#chain.append(redaction.input, this.#now());
    this.#dispatch(event);
    if (this.#chain.uncovered >= this.#checkpointEvery) this.#checkpoint();
    else this.#scheduleCheckpoint();
    return event;
  }

  #scheduleCheckpoint(): void {
    if (this.#checkpointTimer !== undefined || this.#closed) return;
    this.#checkpointTimer = setTimeout(() => {
      this.#checkpointTimer = undefined;
      this.#checkpoint();
    }, this.#checkpointDelayMs);
    this.#checkpointTimer.unref();
  }

  /**
   * Covers every event chained so far with a signed checkpoint, if any is uncovered. The
   * final one (at close) is signed even when nothing is: it marks the end of the chain, so a
   * verifier can tell a chain that ended from one whose tail was cut off.
   */
  #checkpoint(options: { final?: boolean } = {}): void {
    clearTimeout(this.#checkpointTimer);
    this.#checkpointTimer = undefined;
    // Once closed, the sinks take nothing more: a checkpoint would only be dropped.
    if (this.#closed || !this.#chain.started) return;
    if (this.#chain.uncovered === 0 && options.final !== true) return;
    this.#dispatch(this.#chain.checkpoint(this.#now(), options));
  }

  #dispatch(event: BrokerEvent): void {
    this.#emitted += 1;
    for (const lane of this.#lanes) lane.enqueue(event);
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        this.#onError(SUBSCRIBER_ERROR_SOURCE, err);
      }
    }
  }

  async #requiredDelivery(seq: number): Promise<void> {
    const required = this.#lanes.filter((lane) => lane.sink.mode === 'required');
    await Promise.all(
      required.map(async (lane) => {
        try {
          await withTimeout(lane.delivered(seq), this.#writeTimeoutMs, 'required sink');
        } catch (err) {
          throw new BrokerError(
            'audit_unavailable',
            `audit sink ${lane.sink.name} is unavailable`,
            { retryAfter: 1, cause: err },
          );
        }
      }),
    );
  }
}
