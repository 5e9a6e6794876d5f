export {
  AUDIT_KEY_STATES,
  type AuditKeyConfig,
  type AuditKeyState,
  type AuditSigningConfig,
  auditSigningSchema,
  readAuditSigningConfig,
} from './config.js';
export {
  type AuditPublicJwk,
  auditJwkOf,
  type Ed25519PublicJwk,
  ed25519X,
  jwkThumbprint,
} from './jwk.js';
export { AuditKeyring, type AuditKeySource, createAuditKeyring } from './keyring.js';
export { readAuditJwks } from './read-jwks.js';
export { AuditKeyError, readAuditPrivateKey, readAuditPublicKey } from './read-key.js';
