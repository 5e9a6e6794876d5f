import type { Cluster, Redis } from 'ioredis';
import { slotTag } from '../lib/ids.js';

/**
 * Whether this is the first warning of a workload's review on a UTC day, across replicas:
 * the first caller of a (workload, day) pair gets `true`, every other one `false`.
 */
export interface ReviewNotices {
  firstOfDay(workload: string, day: string): Promise<boolean>;
}

/** A marker outlives its day by one more, so a replica whose clock is behind finds it. */
const MARKER_SECONDS = 2 * 86_400;

/**
 * `SET NX EX` of one key per workload and day, on the workload's slot (its hash tag), under
 * the broker's key prefix: `<prefix>:{<tag>}:review-due:<workload>:<day>`.
 */
export class RedisReviewNotices implements ReviewNotices {
  readonly #redis: Redis | Cluster;
  readonly #prefix: string;

  constructor(redis: Redis | Cluster, keyPrefix: string) {
    this.#redis = redis;
    this.#prefix = keyPrefix;
  }

  async firstOfDay(workload: string, day: string): Promise<boolean> {
    const key = `${this.#prefix}:{${slotTag(workload)}}:review-due:${workload}:${day}`;
    const set = await this.#redis.set(key, '1', 'EX', MARKER_SECONDS, 'NX');
    return set === 'OK';
  }
}

/** One process's markers (a broker without Redis), bounded: a day's markers replace the last. */
export class MemoryReviewNotices implements ReviewNotices {
  #day = '';
  readonly #seen = new Set<string>();

  async firstOfDay(workload: string, day: string): Promise<boolean> {
    if (day !== this.#day) {
      this.#day = day;
      this.#seen.clear();
    }
    if (this.#seen.has(workload)) return false;
    this.#seen.add(workload);
    return true;
  }
}
