import { channel } from 'node:diagnostics_channel';
import type { CryptoKey, JWSHeaderParameters } from 'jose';
import type { KeySet, KeySource } from './key-set.js';
import { Rejection } from './rejection.js';

export interface RemoteKeyTiming {
  /** Least time between two fetches, so unknown-`kid` tokens cannot make us hammer the IdP. */
  readonly cooldownMs: number;
  /** Keys older than this are refetched on next use; the old ones stay if that fails. */
  readonly refreshMs: number;
  /**
   * Keys not refreshed for this long are dropped and the issuer refuses every token until
   * a fetch succeeds: an outage must not keep a key the issuer has since withdrawn alive
   * forever.
   */
  readonly maxAgeMs: number;
}

/** Every fetch is reported here (metrics subscribe); the message is a `KeyRefreshReport`. */
export const KEY_REFRESH_CHANNEL = 'jit-broker.key-refresh';
export interface KeyRefreshReport {
  outcome: 'success' | 'failure';
}
const refreshes = channel(KEY_REFRESH_CHANNEL);

export const DEFAULT_REMOTE_KEY_TIMING: RemoteKeyTiming = {
  cooldownMs: 30_000,
  refreshMs: 300_000,
  maxAgeMs: 3_600_000,
};

/** What one successful load produced; `refreshMs` is the source's own hint (SPIFFE bundles). */
export interface LoadedKeys {
  readonly keys: KeySet;
  readonly refreshMs?: number | undefined;
}

/**
 * Keys fetched (or re-read) and cached. A token whose `kid` is unknown triggers a refetch
 * (the issuer may have rotated) but at most once per cooldown. When the source is down the
 * cached keys keep working until they are `maxAgeMs` old; then the issuer fails closed.
 */
export class RemoteKeySource implements KeySource {
  readonly #load: () => Promise<LoadedKeys>;
  readonly #now: () => number;
  readonly #timing: RemoteKeyTiming;
  #keys: KeySet | undefined;
  #refreshMs: number;
  #generation = 0;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #lastError = 'not fetched yet';
  #inflight: Promise<void> | undefined;

  /** `load` fetches and parses the key document; it throws on any failure. */
  constructor(
    load: () => Promise<LoadedKeys>,
    now: () => number,
    timing = DEFAULT_REMOTE_KEY_TIMING,
    initial?: LoadedKeys,
  ) {
    this.#load = load;
    this.#now = now;
    this.#timing = timing;
    this.#refreshMs = timing.refreshMs;
    if (initial !== undefined) this.#accept(initial);
  }

  async current(): Promise<number> {
    await this.#usableKeys();
    return this.#generation;
  }

  async candidates(header: JWSHeaderParameters): Promise<CryptoKey[]> {
    let keys = await (await this.#usableKeys()).match(header);
    if (keys.length === 0 && (await this.#refreshIfAllowed()) && this.#keys !== undefined) {
      keys = await this.#keys.match(header);
    }
    if (keys.length === 0) throw new Rejection('unknown_key', 'no key of the issuer matches');
    return keys;
  }

  async #usableKeys(): Promise<KeySet> {
    if (this.#now() - this.#fetchedAt >= this.#refreshMs) await this.#refreshIfAllowed();
    if (this.#keys !== undefined && this.#now() - this.#fetchedAt >= this.#timing.maxAgeMs) {
      this.#keys = undefined;
      this.#generation += 1;
      this.#lastError = `keys could not be refreshed for ${this.#timing.maxAgeMs} ms (${this.#lastError})`;
    }
    if (this.#keys === undefined) {
      throw new Rejection('jwks_unavailable', `no keys for this issuer: ${this.#lastError}`);
    }
    return this.#keys;
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
      this.#accept(await this.#load());
      refreshes.publish({ outcome: 'success' } satisfies KeyRefreshReport);
    } catch (err) {
      refreshes.publish({ outcome: 'failure' } satisfies KeyRefreshReport);
      // Keep whatever keys we had (until maxAgeMs): an outage of the IdP must not log every
      // workload out at once.
      this.#lastError = (err as Error).message;
    }
  }

  #accept(loaded: LoadedKeys): void {
    if (this.#keys?.fingerprint !== loaded.keys.fingerprint) this.#generation += 1;
    this.#keys = loaded.keys;
    this.#fetchedAt = this.#now();
    // A hint is honoured within bounds: never below the cooldown, and never so long that
    // the keys would reach their maximum age before the next attempt.
    const hint = loaded.refreshMs ?? this.#timing.refreshMs;
    this.#refreshMs = Math.max(this.#timing.cooldownMs, Math.min(hint, this.#timing.maxAgeMs / 2));
  }
}
