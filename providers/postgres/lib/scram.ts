import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

export const SCRAM_ITERATIONS = 4096;
const SALT_BYTES = 16;

const pbkdf2Async = promisify(pbkdf2);

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores in `pg_authid.rolpassword` (RFC 5802 §3,
 * RFC 7677): `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64 parts.
 * PostgreSQL stores a password that already has this shape as is, so the plaintext never
 * reaches the server, its logs or `pg_stat_statements`.
 *
 * The key derivation (PBKDF2, `iterations` rounds) runs on libuv's thread pool, not on the
 * event loop: a mint costs the same hashing, but other requests keep being served meanwhile.
 *
 * The password must need no SASLprep normalisation (ASCII does not); the broker's passwords
 * are base64url.
 */
export async function scramSha256Verifier(
  password: string,
  salt: Buffer = randomBytes(SALT_BYTES),
  iterations: number = SCRAM_ITERATIONS,
): Promise<string> {
  assertNoSaslPrepNeeded(password);
  const salted = await pbkdf2Async(password, salt, iterations, 32, 'sha256');
  const { storedKey, serverKey } = keysOf(salted);
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** The client and server keys of a password, derived in place (for checking a verifier). */
export function scramKeys(
  password: string,
  salt: Buffer,
  iterations: number,
): { clientKey: Buffer; storedKey: Buffer; serverKey: Buffer } {
  return keysOf(pbkdf2Sync(password, salt, iterations, 32, 'sha256'));
}

function assertNoSaslPrepNeeded(password: string): void {
  if (!/^[\x21-\x7e]+$/.test(password)) {
    throw new TypeError('password must be printable ASCII (no SASLprep is applied)');
  }
}

function keysOf(salted: Buffer): { clientKey: Buffer; storedKey: Buffer; serverKey: Buffer } {
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return { clientKey, storedKey, serverKey };
}
