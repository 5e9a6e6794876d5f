import {
  type CryptoKey,
  createLocalJWKSet,
  errors,
  type JSONWebKeySet,
  type JWK,
  type JWSHeaderParameters,
  type LocalJWKSet,
} from 'jose';
import { Rejection } from './rejection.js';

/** Where an issuer's verification keys come from: a file, a JWKS URL, discovery, a bundle. */
export interface KeySource {
  /** Keys that may have signed a token with this header; never empty (throws instead). */
  candidates(header: JWSHeaderParameters): Promise<CryptoKey[]>;
  /**
   * Refreshes the keys when due and returns the generation of the usable set (it changes
   * whenever the set's content does); throws a Rejection when no key is usable. Lets a
   * cached principal be dropped when its issuer's keys change or go stale.
   */
  current(): Promise<number>;
}

const ASYMMETRIC_KTY = new Set(['RSA', 'EC', 'OKP']);

/**
 * Only public signature keys are kept. A symmetric (`oct`) key in a published set would let
 * anyone who can read the set forge tokens, and a private key there is a leak we should not
 * build on.
 */
function isPublicSigningKey(value: unknown): value is JWK {
  if (typeof value !== 'object' || value === null) return false;
  const jwk = value as Record<string, unknown>;
  return (
    typeof jwk.kty === 'string' &&
    ASYMMETRIC_KTY.has(jwk.kty) &&
    jwk.d === undefined &&
    (jwk.use === undefined || jwk.use === 'sig')
  );
}

function keysOf(document: unknown): unknown[] {
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('not a JSON Web Key Set (no "keys" array)');
  return keys;
}

/** An immutable set of keys, selected by `kid`, `alg` and key type through jose. */
export class KeySet {
  readonly size: number;
  /** Equal for two sets holding the same keys. */
  readonly fingerprint: string;
  readonly #select: LocalJWKSet;

  private constructor(keys: JWK[]) {
    this.size = keys.length;
    this.fingerprint = JSON.stringify(keys.map((k) => JSON.stringify(k)).sort());
    this.#select = createLocalJWKSet({ keys } as JSONWebKeySet);
  }

  static fromJwks(document: unknown): KeySet {
    return new KeySet(keysOf(document).filter(isPublicSigningKey));
  }

  /**
   * A SPIFFE trust bundle: only `use: "jwt-svid"` keys verify JWT-SVIDs (JWT-SVID §6);
   * `x509-svid` entries are CA certificates for another purpose. jose skips any key whose
   * `use` is not `sig`, so the kept keys are handed over as `sig` keys. A JWT-SVID key must
   * carry a `kid`, so one without is dropped.
   */
  static fromSpiffeBundle(document: unknown): KeySet {
    const keys: JWK[] = [];
    for (const entry of keysOf(document)) {
      if (typeof entry !== 'object' || entry === null) continue;
      const jwk = entry as Record<string, unknown>;
      if (jwk.use !== 'jwt-svid' || typeof jwk.kid !== 'string' || jwk.kid === '') continue;
      const adapted = { ...jwk, use: 'sig' };
      if (isPublicSigningKey(adapted)) keys.push(adapted);
    }
    return new KeySet(keys);
  }

  /** Every key that matches; empty when none does. */
  async match(header: JWSHeaderParameters): Promise<CryptoKey[]> {
    try {
      return [await this.#select(header)];
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey) return [];
      // Without a `kid` several keys can fit; the caller tries each in turn.
      if (err instanceof errors.JWKSMultipleMatchingKeys) {
        const keys: CryptoKey[] = [];
        for await (const key of err) keys.push(key);
        return keys;
      }
      throw new Rejection('unknown_key', 'the matching key could not be imported');
    }
  }
}
