import { CAEP_EVENT_URIS, type Signal } from './signals.js';

/**
 * One SET waiting for one receiver. It is kept unsigned and signed at each attempt, so a
 * retry carries a fresh `iat` (receivers refuse stale SETs) under the same `jti` (receivers
 * deduplicate on it).
 */
export interface PendingSet {
  /** The SET's `jti`. */
  readonly id: string;
  readonly receiver: string;
  readonly signal: Signal;
  /** Failed attempts so far. */
  readonly attempts: number;
  /** Milliseconds since the epoch, when the event was observed. */
  readonly queuedAt: number;
}

/** A SET claimed for delivery until `until`; only that claim can finish it. */
export interface ClaimedSet {
  readonly set: PendingSet;
  readonly until: number;
}

/**
 * The SETs waiting for delivery, shared by every replica. A claim is a visibility timeout,
 * as for leases: a replica that dies holding one lets it become due again at `until`, and a
 * late finisher whose claim was taken over changes nothing.
 */
export interface DeliveryQueue {
  /**
   * Adds SETs due now. Past `maxQueue` SETs in all, the oldest are dropped and returned, so
   * the caller reports each one.
   */
  enqueue(sets: readonly PendingSet[], maxQueue: number): Promise<PendingSet[]>;
  /** Claims up to `limit` SETs due at `now`, until `until`. */
  claim(now: number, until: number, limit: number): Promise<ClaimedSet[]>;
  /** Removes a delivered (or abandoned) SET; false when the claim was lost. */
  finish(claimed: ClaimedSet): Promise<boolean>;
  /** Puts a SET back, due at `dueAt`, with one more failed attempt; false when the claim was lost. */
  retry(claimed: ClaimedSet, dueAt: number): Promise<boolean>;
  /** Puts a SET back, due at `dueAt`, with no attempt counted (it was not tried); false when the claim was lost. */
  release(claimed: ClaimedSet, dueAt: number): Promise<boolean>;
  depth(): Promise<number>;
}

export const encodeSet = (set: PendingSet): string => JSON.stringify(set);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A queued SET, or undefined for one that cannot be read (another version's, or damaged):
 * the queue removes those rather than claim them again and again.
 */
export function decodeSet(text: string): PendingSet | undefined {
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    const signal = value.signal;
    const readable =
      typeof value.id === 'string' &&
      typeof value.receiver === 'string' &&
      Number.isInteger(value.attempts) &&
      typeof value.queuedAt === 'number' &&
      isObject(signal) &&
      typeof signal.kind === 'string' &&
      Object.hasOwn(CAEP_EVENT_URIS, signal.kind) &&
      typeof signal.workload === 'string' &&
      typeof signal.txn === 'string' &&
      isObject(signal.subject) &&
      isObject(signal.payload) &&
      isObject(signal.jit);
    return readable ? (value as unknown as PendingSet) : undefined;
  } catch {
    return undefined;
  }
}

/** One replica's queue (`store: memory`, dev mode): the same rules, nothing shared. */
export class MemoryDeliveryQueue implements DeliveryQueue {
  readonly #sets = new Map<string, { set: PendingSet; due: number }>();

  async enqueue(sets: readonly PendingSet[], maxQueue: number): Promise<PendingSet[]> {
    for (const set of sets) this.#sets.set(set.id, { set, due: set.queuedAt });
    const dropped: PendingSet[] = [];
    // A Map iterates in insertion order: the first key is the oldest SET.
    while (this.#sets.size > maxQueue) {
      const oldest = this.#sets.keys().next();
      if (oldest.done === true) break;
      const entry = this.#sets.get(oldest.value);
      this.#sets.delete(oldest.value);
      if (entry !== undefined) dropped.push(entry.set);
    }
    return dropped;
  }

  async claim(now: number, until: number, limit: number): Promise<ClaimedSet[]> {
    const claimed: ClaimedSet[] = [];
    for (const entry of this.#sets.values()) {
      if (claimed.length >= limit) break;
      if (entry.due > now) continue;
      entry.due = until;
      claimed.push({ set: entry.set, until });
    }
    return claimed;
  }

  async finish(claimed: ClaimedSet): Promise<boolean> {
    const entry = this.#sets.get(claimed.set.id);
    if (entry === undefined || entry.due !== claimed.until) return false;
    this.#sets.delete(claimed.set.id);
    return true;
  }

  async retry(claimed: ClaimedSet, dueAt: number): Promise<boolean> {
    const entry = this.#sets.get(claimed.set.id);
    if (entry === undefined || entry.due !== claimed.until) return false;
    entry.set = { ...entry.set, attempts: entry.set.attempts + 1 };
    entry.due = dueAt;
    return true;
  }

  async release(claimed: ClaimedSet, dueAt: number): Promise<boolean> {
    const entry = this.#sets.get(claimed.set.id);
    if (entry === undefined || entry.due !== claimed.until) return false;
    entry.due = dueAt;
    return true;
  }

  async depth(): Promise<number> {
    return this.#sets.size;
  }
}
