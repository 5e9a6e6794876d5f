import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

export const JWT_ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** A published verification key: public members only, plus `kid`, `alg` and `use`. */
export interface PublicJwk extends JWK {
  kty: string;
  kid: string;
  alg: JwtAlgorithm;
  use: 'sig';
}

/**
 * Members a public JWK may carry per key type (RFC 7518 §6). Copying only these, rather than
 * deleting private members, means a key type with unexpected private members cannot leak.
 */
const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  EC: ['crv', 'x', 'y'],
  OKP: ['crv', 'x'],
  RSA: ['n', 'e'],
};

const MIN_RSA_BITS = 2048;

/**
 * Reads a private signing key from config text: an unencrypted PKCS#8 PEM or a private JWK as
 * JSON. Node's parser is synchronous, so a bad key is reported while the config loads rather
 * than on the first mint. Errors never carry the key text or the parser's own message.
 */
export function readPrivateKey(text: string, algorithm: JwtAlgorithm): KeyObject {
  const key = parse(text.trim());
  const mismatch = algorithmMismatch(key, algorithm);
  if (mismatch !== undefined) throw new Error(mismatch);
  return key;
}

function parse(text: string): KeyObject {
  if (text.startsWith('{')) {
    let jwk: unknown;
    try {
      jwk = JSON.parse(text);
    } catch {
      throw new Error('private_key looks like a JWK but is not valid JSON');
    }
    if (typeof jwk !== 'object' || jwk === null || typeof (jwk as { d?: unknown }).d !== 'string') {
      throw new Error('private_key JWK has no private member "d"');
    }
    try {
      return createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch {
      throw new Error('private_key JWK could not be read');
    }
  }
  if (!text.startsWith('-----BEGIN PRIVATE KEY-----')) {
    throw new Error('private_key must be an unencrypted PKCS#8 PEM or a private JWK (JSON)');
  }
  try {
    return createPrivateKey({ key: text, format: 'pem' });
  } catch {
    throw new Error('private_key PEM could not be read');
  }
}

function algorithmMismatch(key: KeyObject, algorithm: JwtAlgorithm): string | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  switch (algorithm) {
    case 'ES256':
      return type === 'ec' && details.namedCurve === 'prime256v1'
        ? undefined
        : 'ES256 needs an EC P-256 key';
    case 'ES384':
      return type === 'ec' && details.namedCurve === 'secp384r1'
        ? undefined
        : 'ES384 needs an EC P-384 key';
    case 'EdDSA':
      return type === 'ed25519' ? undefined : 'EdDSA needs an Ed25519 key';
    case 'RS256':
    case 'PS256':
      return type === 'rsa' && (details.modulusLength ?? 0) >= MIN_RSA_BITS
        ? undefined
        : `${algorithm} needs an RSA key of at least ${MIN_RSA_BITS} bits`;
  }
}

export function publicJwkOf(key: KeyObject, kid: string, algorithm: JwtAlgorithm): PublicJwk {
  const full = createPublicKey(key).export({ format: 'jwk' }) as Record<string, unknown>;
  const kty = String(full.kty);
  const jwk: PublicJwk = { kty, kid, alg: algorithm, use: 'sig' };
  for (const member of PUBLIC_MEMBERS[kty] ?? []) {
    const value = full[member];
    if (typeof value === 'string') (jwk as unknown as Record<string, unknown>)[member] = value;
  }
  return jwk;
}
