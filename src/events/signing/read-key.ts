import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';

/**
 * Reads an audit key from text: PEM (PKCS#8 for a private key, SPKI for a public one) or a
 * JWK as JSON. Only Ed25519 is accepted. Errors say what is wrong with the text, never the
 * text itself nor the parser's own message, which may quote it.
 */
export class AuditKeyError extends Error {
  override readonly name = 'AuditKeyError';
}

export function readAuditPrivateKey(text: string): KeyObject {
  const trimmed = text.trim();
  let key: KeyObject;
  if (trimmed.startsWith('{')) {
    const jwk = parseJwk(trimmed);
    if (typeof jwk.d !== 'string') throw new AuditKeyError('the JWK has no private member "d"');
    key = attempt(() => createPrivateKey({ key: jwk, format: 'jwk' }), 'JWK');
  } else if (trimmed.startsWith('-----BEGIN PRIVATE KEY-----')) {
    key = attempt(() => createPrivateKey({ key: trimmed, format: 'pem' }), 'PEM');
  } else {
    throw new AuditKeyError('expected an unencrypted PKCS#8 PEM or a private JWK (JSON)');
  }
  return ed25519Only(key);
}

/**
 * A public key: an SPKI PEM or a public JWK. A private key is refused rather than reduced
 * to its public half: whoever passed one where a public key belongs is about to copy a
 * signing key somewhere it should not be.
 */
export function readAuditPublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const jwk = parseJwk(trimmed);
    if (jwk.d !== undefined) {
      throw new AuditKeyError('this JWK holds a private key; give its public half only');
    }
    return ed25519Only(attempt(() => createPublicKey({ key: jwk, format: 'jwk' }), 'JWK'));
  }
  if (/^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(trimmed)) {
    throw new AuditKeyError('this PEM holds a private key; give its public half only');
  }
  if (!trimmed.startsWith('-----BEGIN PUBLIC KEY-----')) {
    throw new AuditKeyError('expected an SPKI PEM ("BEGIN PUBLIC KEY") or a public JWK (JSON)');
  }
  return ed25519Only(attempt(() => createPublicKey({ key: trimmed, format: 'pem' }), 'PEM'));
}

function parseJwk(text: string): JsonWebKey {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AuditKeyError('the key looks like a JWK but is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AuditKeyError('the JWK is not a JSON object');
  }
  return value as JsonWebKey;
}

function attempt(read: () => KeyObject, form: string): KeyObject {
  try {
    return read();
  } catch {
    throw new AuditKeyError(`the ${form} could not be read as a key`);
  }
}

function ed25519Only(key: KeyObject): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new AuditKeyError('audit keys are Ed25519 (the chain is signed with EdDSA)');
  }
  return key;
}
