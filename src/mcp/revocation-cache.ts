/** Whose token an answer is about: what a Shared Signals SET names. */
export interface TokenHolder {
  /** The token's `jti`: the lease at the broker. */
  readonly leaseId: string;
  /** The token's `sub`: the workload. */
  readonly workload: string;
  /** The token's `task.id`, when it has one. */
  readonly taskId?: string;
}

interface Entry {
  readonly active: boolean;
  readonly until: number;
  readonly holder: TokenHolder | undefined;
}

interface Flight {
  readonly asked: Promise<boolean>;
  readonly at: number;
  readonly holder: TokenHolder | undefined;
  /** Set when a signal named the holder while the introspection was out: its answer is not kept. */
  forgotten: boolean;
}

/**
 * Introspection answers by token hash, reused for a short, bounded time: a token revoked at
 * the broker is refused at most `ttlMs` later, and never after its own expiry. At most
 * `maxEntries` answers are kept (the oldest goes first), so a flood of distinct tokens
 * costs bounded memory. Concurrent misses for one token share one introspection. A
 * revocation signal (`forget`) drops the answers about the tokens it names at once, so the
 * next request with one of them asks the broker again.
 */
export class RevocationCache {
  readonly #entries = new Map<string, Entry>();
  readonly #inFlight = new Map<string, Flight>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  async isActive(
    tokenHash: string,
    expiresAtMs: number,
    introspect: () => Promise<boolean>,
    holder?: TokenHolder,
  ): Promise<boolean> {
    const now = this.now();
    const cached = this.#entries.get(tokenHash);
    if (cached !== undefined && cached.until > now) return cached.active;
    this.#entries.delete(tokenHash);
    // Joining an introspection sent more than `ttlMs` ago would reuse an answer older than
    // the bound (a broker slow to answer): such a request asks on its own.
    const pending = this.#inFlight.get(tokenHash);
    if (pending !== undefined && now - pending.at < this.ttlMs) return pending.asked;
    const asked = introspect().finally(() => {
      if (this.#inFlight.get(tokenHash)?.asked === asked) this.#inFlight.delete(tokenHash);
    });
    const flight: Flight = { asked, at: now, holder, forgotten: false };
    this.#inFlight.set(tokenHash, flight);
    const active = await asked;
    if (!flight.forgotten) {
      this.#remember(tokenHash, active, Math.min(now + this.ttlMs, expiresAtMs), holder);
    }
    return active;
  }

  /**
   * Drops every answer (kept or being asked for) about a token whose holder `names`
   * matches; returns how many were dropped.
   */
  forget(names: (holder: TokenHolder) => boolean): number {
    let dropped = 0;
    for (const [hash, entry] of this.#entries) {
      if (entry.holder !== undefined && names(entry.holder)) {
        this.#entries.delete(hash);
        dropped++;
      }
    }
    for (const [hash, flight] of this.#inFlight) {
      if (flight.holder !== undefined && names(flight.holder)) {
        flight.forgotten = true;
        this.#inFlight.delete(hash);
        dropped++;
      }
    }
    return dropped;
  }

  #remember(
    tokenHash: string,
    active: boolean,
    until: number,
    holder: TokenHolder | undefined,
  ): void {
    if (this.ttlMs === 0 || this.maxEntries === 0 || until <= this.now()) return;
    while (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
    this.#entries.set(tokenHash, { active, until, holder });
  }
}
