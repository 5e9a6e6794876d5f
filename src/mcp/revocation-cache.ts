interface Entry {
  readonly active: boolean;
  readonly until: number;
}

/**
 * Introspection answers by token hash, reused for a short, bounded time: a token revoked at
 * the broker is refused at most `ttlMs` later, and never after its own expiry. At most
 * `maxEntries` answers are kept (the oldest goes first), so a flood of distinct tokens
 * costs bounded memory. Concurrent misses for one token share one introspection.
 */
export class RevocationCache {
  readonly #entries = new Map<string, Entry>();
  readonly #inFlight = new Map<string, { readonly asked: Promise<boolean>; readonly at: number }>();

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
    this.#inFlight.set(tokenHash, { asked, at: now });
    const active = await asked;
    this.#remember(tokenHash, active, Math.min(now + this.ttlMs, expiresAtMs));
    return active;
  }

  #remember(tokenHash: string, active: boolean, until: number): void {
    if (this.ttlMs === 0 || this.maxEntries === 0 || until <= this.now()) return;
    while (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
    this.#entries.set(tokenHash, { active, until });
  }
}
