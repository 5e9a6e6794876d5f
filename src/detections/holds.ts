import type { Cluster, Redis } from 'ioredis';
import { slotTag } from '../lib/ids.js';

/** A `require_approval` detection's mark on a workload: every grant waits for an approver. */
export interface Hold {
  rule: string;
  /** When the detection fired (the event's time) and until when the hold stands. */
  at: string;
  until: string;
}

/**
 * Where holds live: Redis (shared by replicas: one replica's firing holds every replica's
 * issuance) or memory. A hold expires at `until`; `clear` ends it early.
 */
export interface DetectionHolds {
  place(workload: string, hold: Hold, ttlMs: number): Promise<void>;
  held(workload: string): Promise<Hold | undefined>;
  clear(workload: string): Promise<boolean>;
}

export class RedisDetectionHolds implements DetectionHolds {
  readonly #redis: Redis | Cluster;
  readonly #prefix: string;

  constructor(redis: Redis | Cluster, keyPrefix: string) {
    this.#redis = redis;
    this.#prefix = keyPrefix;
  }

  key(workload: string): string {
    return `${this.#prefix}:{${slotTag(workload)}}:det-hold:${workload}`;
  }

  async place(workload: string, hold: Hold, ttlMs: number): Promise<void> {
    await this.#redis.set(this.key(workload), JSON.stringify(hold), 'PX', Math.max(1, ttlMs));
  }

  async held(workload: string): Promise<Hold | undefined> {
    const text = await this.#redis.get(this.key(workload));
    if (text === null) return undefined;
    try {
      return JSON.parse(text) as Hold;
    } catch {
      // Something wrote the key that this broker cannot read: held all the same (fail closed).
      return { rule: 'unknown', at: '', until: '' };
    }
  }

  async clear(workload: string): Promise<boolean> {
    return (await this.#redis.del(this.key(workload))) === 1;
  }
}

export class MemoryDetectionHolds implements DetectionHolds {
  readonly #holds = new Map<string, { hold: Hold; until: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async place(workload: string, hold: Hold, ttlMs: number): Promise<void> {
    this.#holds.set(workload, { hold, until: this.#now() + ttlMs });
  }

  async held(workload: string): Promise<Hold | undefined> {
    const entry = this.#holds.get(workload);
    if (entry === undefined) return undefined;
    if (entry.until <= this.#now()) {
      this.#holds.delete(workload);
      return undefined;
    }
    return entry.hold;
  }

  async clear(workload: string): Promise<boolean> {
    return this.#holds.delete(workload);
  }
}
