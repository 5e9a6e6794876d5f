import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/** The algorithms a SET may be signed with, one per key type. */
export const SET_ALGORITHMS = ['ES256', 'EdDSA', 'RS256'] as const;
export type SetAlgorithm = (typeof SET_ALGORITHMS)[number];

export interface SetSigningKey {
  readonly kid: string;
  readonly alg: SetAlgorithm;
  readonly privateKey: KeyObject;
  /** What `jwks_uri` publishes: the public half only. */
  readonly publicJwk: Readonly<Record<string, string>>;
}

/** Why a SET key was refused; the message never quotes the key text. */
export class SetKeyError extends Error {
  override readonly name = 'SetKeyError';
}

/**
 * Reads the SET signing key: an unencrypted PKCS#8 PEM or a private JWK. The algorithm
 * follows from the key (P-256 → ES256, Ed25519 → EdDSA, RSA of 2048 bits or more → RS256);
 * `kid` defaults to the RFC 7638 thumbprint of the public key.
 */
export function readSetSigningKey(text: string, kid?: string): SetSigningKey {
  const privateKey = parsePrivateKey(text.trim());
  const alg = algorithmOf(privateKey);
  const exported = createPublicKey(privateKey).export({ format: 'jwk' }) as Record<string, string>;
  const members = thumbprintMembers(exported);
  const id = kid ?? thumbprint(members);
  return { kid: id, alg, privateKey, publicJwk: { ...members, kid: id, alg, use: 'sig' } };
}

function parsePrivateKey(text: string): KeyObject {
  try {
    if (text.startsWith('{')) {
      const jwk = JSON.parse(text) as Record<string, unknown>;
      if (typeof jwk.d !== 'string') throw new SetKeyError('the JWK has no private member "d"');
      return createPrivateKey({ key: jwk as never, format: 'jwk' });
    }
    if (text.startsWith('-----BEGIN PRIVATE KEY-----')) {
      return createPrivateKey({ key: text, format: 'pem' });
    }
  } catch (err) {
    if (err instanceof SetKeyError) throw err;
    throw new SetKeyError('the key could not be read (expected a PKCS#8 PEM or a private JWK)');
  }
  throw new SetKeyError('expected an unencrypted PKCS#8 PEM or a private JWK (JSON)');
}

function algorithmOf(key: KeyObject): SetAlgorithm {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') return 'ES256';
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= 2048) return 'RS256';
  throw new SetKeyError(
    'SET keys are EC P-256 (ES256), Ed25519 (EdDSA) or RSA ≥ 2048 bits (RS256)',
  );
}

/** RFC 7638 §3.2: the required members of the key type, in lexicographic order. */
function thumbprintMembers(jwk: Record<string, string>): Record<string, string> {
  const pick = (names: string[]) =>
    Object.fromEntries(names.map((n) => [n, jwk[n] ?? ''])) as Record<string, string>;
  if (jwk.kty === 'EC') return pick(['crv', 'kty', 'x', 'y']);
  if (jwk.kty === 'OKP') return pick(['crv', 'kty', 'x']);
  return pick(['e', 'kty', 'n']);
}

function thumbprint(members: Record<string, string>): string {
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}
