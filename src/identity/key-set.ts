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

/** Where an issuer's verification keys come from: a file, a JWKS URL, or discovery. */
export interface KeySource {
  /** Keys that may have signed a token with this header; never empty (throws instead). */
  candidates(header: JWSHeaderParameters): Promise<CryptoKey[]>;
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

/** An immutable set of keys, selected by `kid`, `alg` and key type through jose. */
export class KeySet {
  readonly size: number;
  readonly #select: LocalJWKSet;

  private constructor(keys: JWK[]) {
    this.size = keys.length;
    this.#select = createLocalJWKSet({ keys } as JSONWebKeySet);
  }

  static fromJwks(document: unknown): KeySet {
    const keys = (document as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys)) throw new Error('not a JSON Web Key Set (no "keys" array)');
    return new KeySet(keys.filter(isPublicSigningKey));
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
