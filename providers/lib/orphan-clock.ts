/**
 * When the sweeper first saw each account without a live lease, for providers whose server
 * records no creation time (MariaDB/MySQL accounts, Redis ACL users): the grace period runs
 * from the first sweep that found the account orphaned. The state only delays removal: a
 * restarted broker waits one more grace period, and never removes anything sooner.
 */
export class OrphanClock {
  readonly #firstSeen = new Map<string, number>();

  /** Records `account` as orphaned at `now`; true once it has been for at least `graceMs`. */
  due(account: string, now: number, graceMs: number): boolean {
    const seen = this.#firstSeen.get(account);
    if (seen === undefined) {
      this.#firstSeen.set(account, now);
      return graceMs <= 0;
    }
    return now - seen >= graceMs;
  }

  /** Forgets every account that is not in `orphans` (live again, or gone). */
  keepOnly(orphans: ReadonlySet<string>): void {
    for (const account of this.#firstSeen.keys()) {
      if (!orphans.has(account)) this.#firstSeen.delete(account);
    }
  }

  forget(account: string): void {
    this.#firstSeen.delete(account);
  }
}
