import type { AuditPublicJwk } from './jwk.js';
import { AuditKeyError, readAuditPublicKey } from './read-key.js';

/**
 * The audit keys of a JWK Set (RFC 7517 §5), or of a single public JWK. Members that are not
 * Ed25519 signing keys are skipped, as §5 lets a reader skip keys it cannot use; a set that
 * holds none is an error, since it would anchor nothing. Only `x` and `kid` are kept (with
 * the `alg` and `use` every member then has), so a private member goes no further.
 */
export function readAuditJwks(value: unknown): AuditPublicJwk[] {
  const members = isRecord(value) && Array.isArray(value.keys) ? value.keys : [value];
  const keys: AuditPublicJwk[] = [];
  for (const member of members) {
    if (!isRecord(member) || member.kty !== 'OKP' || member.crv !== 'Ed25519') continue;
    if (member.use !== undefined && member.use !== 'sig') continue;
    if (member.alg !== undefined && member.alg !== 'EdDSA' && member.alg !== 'Ed25519') continue;
    if (typeof member.x !== 'string') continue;
    // Parsed for its validity only: a malformed x would otherwise fail mid-verification.
    readAuditPublicKey(JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: member.x }));
    keys.push({
      kty: 'OKP',
      crv: 'Ed25519',
      x: member.x,
      ...(typeof member.kid === 'string' ? { kid: member.kid } : {}),
      alg: 'EdDSA',
      use: 'sig',
    });
  }
  if (keys.length === 0) throw new AuditKeyError('no Ed25519 signing key in the key set');
  return keys;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
