import { sha256Hex } from './token-hash.js';

/** `iss` and `jti` are the token's own text: hashing bounds the key and keeps it printable. */
export function tokenUseKey(iss: string, jti: string): string {
  return sha256Hex(`${iss}\u0000${jti}`);
}

/** How long the store keeps a use: until the token expires, and never less than a second. */
export function tokenUseTtlMs(expiresAt: number, now: number): number {
  return Math.max(1_000, Math.ceil(expiresAt - now));
}

/**
 * One process's memory of token uses, each kept until its token expires. Bounded: when full
 * of live uses it refuses a new one rather than forget a live one.
 */
export class MemoryTokenUses<V> {
  readonly #uses = new Map<string, { value: V; until: number }>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  /** The use recorded under `key` while its token is still live. */
  live(key: string, now: number): { value: V } | undefined {
    const use = this.#uses.get(key);
    return use !== undefined && use.until > now ? use : undefined;
  }

  /** Records a use until `until` (ms); false when memory is full of live uses. */
  record(key: string, value: V, until: number, now: number): boolean {
    if (this.#uses.size >= this.#maxEntries) {
      for (const [k, use] of this.#uses) if (use.until <= now) this.#uses.delete(k);
    }
    if (this.#uses.size >= this.#maxEntries) return false;
    this.#uses.set(key, { value, until });
    return true;
  }
}
