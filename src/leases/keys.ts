import { slotTag, slotTagOf } from '../lib/ids.js';

/** Workloads whose slot tag is remembered (a cache: computing one is a SHA-256). */
const TAG_CACHE_LIMIT = 10_000;

/**
 * Key layout. Every key of one workload carries the hash tag `{<slot tag>}` (two base32
 * characters derived from the workload id, see `slotTag`), and so does every lease id issued
 * to it, so each transition script runs on one Cluster slot and a lease's key follows from
 * its id alone: no lookup key per lease. Workload ids never contain `:`, so the workload part
 * of `task:<workload>:<task>` ends at the first one. The global keys (`workloads`, `due-hint`,
 * `frozen`, `layout`) are only ever read or written on their own.
 */
export class LeaseKeys {
  readonly #tags = new Map<string, string>();

  constructor(readonly prefix: string) {}

  #workload(workload: string): string {
    let tag = this.#tags.get(workload);
    if (tag === undefined) {
      // The key layout relies on it (the API and the config validate ids before this).
      if (/[:{}]/.test(workload))
        throw new TypeError('a workload id cannot contain ":", "{" or "}"');
      if (this.#tags.size >= TAG_CACHE_LIMIT) this.#tags.clear();
      tag = slotTag(workload);
      this.#tags.set(workload, tag);
    }
    return `${this.prefix}:{${tag}}`;
  }
  /** A lease's hash; the id starts with `lse_`, which no other key kind does. */
  lease(id: string): string {
    return `${this.prefix}:{${slotTagOf(id)}}:${id}`;
  }
  due(workload: string): string {
    return `${this.#workload(workload)}:due:${workload}`;
  }
  done(workload: string): string {
    return `${this.#workload(workload)}:done:${workload}`;
  }
  meta(workload: string): string {
    return `${this.#workload(workload)}:meta:${workload}`;
  }
  task(workload: string, taskId: string): string {
    return `${this.#workload(workload)}:task:${workload}:${taskId}`;
  }
  get workloads(): string {
    return `${this.prefix}:workloads`;
  }
  get hint(): string {
    return `${this.prefix}:due-hint`;
  }
  get frozen(): string {
    return `${this.prefix}:frozen`;
  }
  get layout(): string {
    return `${this.prefix}:layout`;
  }
}
