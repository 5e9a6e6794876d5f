import { createPublicKey, hash, type KeyObject } from 'node:crypto';

/** An Ed25519 public key as a JWK (RFC 8037 §2): the key is `x`, nothing else is needed. */
export interface Ed25519PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
}

/**
 * An audit key as published in the broker's JWK Set: `kid` names it in the signed genesis and
 * checkpoints, `alg` is EdDSA (RFC 8037 §3.1). A key read from a bare PEM has no `kid`, and
 * then stands for whatever kid a checkpoint names.
 */
export interface AuditPublicJwk extends Ed25519PublicJwk {
  kid?: string;
  alg?: 'EdDSA';
  use?: 'sig';
}

/** The published form of an audit key: public members only, plus `kid`, `alg` and `use`. */
export function auditJwkOf(key: KeyObject, kid: string): Required<AuditPublicJwk> {
  return { kty: 'OKP', crv: 'Ed25519', x: ed25519X(key), kid, alg: 'EdDSA', use: 'sig' };
}

/** The raw public key (`x`, base64url) of an Ed25519 key, private or public. */
export function ed25519X(key: KeyObject): string {
  const jwk = (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    throw new TypeError('not an Ed25519 key');
  }
  return jwk.x;
}

/**
 * RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order, which for
 * an OKP key are `crv`, `kty` and `x` (RFC 8037 §2). It names a key that has no configured
 * kid, so two replicas' ephemeral keys never share a name.
 */
export function jwkThumbprint(jwk: Ed25519PublicJwk): string {
  const required = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  return hash('sha256', required, 'base64url');
}
