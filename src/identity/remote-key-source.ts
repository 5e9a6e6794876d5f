import type { CryptoKey, JWSHeaderParameters } from 'jose';
import { KeySet, type KeySource } from './key-set.js';
import { Rejection } from './rejection.js';

export interface RemoteKeyTiming {
  /** Least time between two fetches, so unknown-`kid` tokens cannot make us hammer the IdP. */
  readonly cooldownMs: number;
  /** Keys older than this are refetched on next use; the old ones stay if that fails. */
  readonly maxAgeMs: number;
}

export const DEFAULT_REMOTE_KEY_TIMING: RemoteKeyTiming = { cooldownMs: 30_000, maxAgeMs: 300_000 };

/**
 * A JWKS fetched over the network and cached. A token whose `kid` is unknown triggers a
 * refetch (the issuer may have rotated) but at most once per cooldown. When the endpoint is
 * down the cached keys keep working; only with no keys at all are tokens refused.
 */
export class RemoteKeySource implements KeySource {
  readonly #load: () => Promise<unknown>;
  readonly #now: () => number;
  readonly #timing: RemoteKeyTiming;
  #keys: KeySet | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #lastError = 'not fetched yet';
  #inflight: Promise<void> | undefined;

  /** `load` fetches the JWKS document (discovery included); it throws on any failure. */
  constructor(load: () => Promise<unknown>, now: () => number, timing = DEFAULT_REMOTE_KEY_TIMING) {
    this.#load = load;
    this.#now = now;
    this.#timing = timing;
  }

  async candidates(header: JWSHeaderParameters): Promise<CryptoKey[]> {
    if (this.#now() - this.#fetchedAt >= this.#timing.maxAgeMs) await this.#refreshIfAllowed();
    if (this.#keys === undefined) {
      throw new Rejection('jwks_unavailable', `no keys for this issuer: ${this.#lastError}`);
    }
    let keys = await this.#keys.match(header);
    if (keys.length === 0 && (await this.#refreshIfAllowed())) {
      keys = await this.#keys.match(header);
    }
    if (keys.length === 0) throw new Rejection('unknown_key', 'no key of the issuer matches');
    return keys;
  }

  /** Refetches unless one ran within the cooldown; true when a fetch happened. */
  async #refreshIfAllowed(): Promise<boolean> {
    if (this.#inflight !== undefined) {
      await this.#inflight;
      return true;
    }
    if (this.#now() - this.#attemptedAt < this.#timing.cooldownMs) return false;
    this.#attemptedAt = this.#now();
    this.#inflight = this.#refresh().finally(() => {
      this.#inflight = undefined;
    });
    await this.#inflight;
    return true;
  }

  async #refresh(): Promise<void> {
    try {
      const keys = KeySet.fromJwks(await this.#load());
      this.#keys = keys;
      this.#fetchedAt = this.#now();
    } catch (err) {
      // Keep whatever keys we had: an outage of the IdP must not log every workload out.
      this.#lastError = (err as Error).message;
    }
  }
}
