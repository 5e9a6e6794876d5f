/**
 * Key layout. Every key of one workload carries the hash tag `{w:<workload>}`, so each
 * transition script runs on one Cluster slot. Lease ids carry no tag (they are pure
 * randomness, and MySQL user names leave no room), so `owner:<id>` maps an id to its
 * workload; the two global keys (`workloads`, `due-hint`) are only ever hints.
 */
export class LeaseKeys {
  constructor(readonly prefix: string) {}

  #tag(workload: string): string {
    return `${this.prefix}:{w:${workload}}`;
  }
  lease(workload: string, id: string): string {
    return `${this.#tag(workload)}:lease:${id}`;
  }
  due(workload: string): string {
    return `${this.#tag(workload)}:due`;
  }
  done(workload: string): string {
    return `${this.#tag(workload)}:done`;
  }
  meta(workload: string): string {
    return `${this.#tag(workload)}:meta`;
  }
  task(workload: string, taskId: string): string {
    return `${this.#tag(workload)}:task:${taskId}`;
  }
  owner(id: string): string {
    return `${this.prefix}:owner:${id}`;
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
}
