import { scrubSecrets } from '../../../src/lib/scrub-secrets.js';
import { ProviderError } from '../../provider.js';

/** Network and server-state failures: the same call can succeed later. */
const UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_QUERY_INTERRUPTED',
]);

/** The admin account lacks a privilege or cannot log in: an operator has to fix the target. */
const MISCONFIGURED = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_TABLEACCESS_DENIED_ERROR',
  'ER_SPECIFIC_ACCESS_DENIED_ERROR',
  'ER_KILL_DENIED_ERROR',
  'ER_PASSWORD_NOT_ALLOWED',
]);

/** The secrets hidden in an admin URL: its password, raw and percent-decoded. */
export function urlSecrets(adminUrl: string): string[] {
  const secrets = [adminUrl];
  try {
    const password = new URL(adminUrl).password;
    if (password !== '') {
      secrets.push(password);
      try {
        secrets.push(decodeURIComponent(password));
      } catch {
        // A malformed escape leaves only the raw form to hide.
      }
    }
  } catch {
    // An unparsable URL is hidden whole.
  }
  return secrets;
}

/**
 * A typed, scrubbed error for a failed driver call. The driver's error is not kept as `cause`:
 * mysql2 attaches the full statement (`sql`), which can carry a password.
 */
export function mysqlFailure(
  target: string,
  action: string,
  err: unknown,
  secrets: readonly string[],
): ProviderError {
  if (err instanceof ProviderError) return err;
  const { code, fatal, message } = describe(err);
  const text = scrubSecrets(
    `mysql target "${target}": ${action} failed (${code}): ${message}`,
    secrets,
  );
  if (UNAVAILABLE.has(code) || fatal) return new ProviderError('provider_unavailable', text, true);
  if (MISCONFIGURED.has(code)) return new ProviderError('provider_misconfigured', text, false);
  return new ProviderError('provider_rejected', text, false);
}

function describe(err: unknown): { code: string; fatal: boolean; message: string } {
  if (typeof err !== 'object' || err === null) {
    return { code: 'UNKNOWN', fatal: false, message: String(err) };
  }
  const fields = err as {
    code?: unknown;
    fatal?: unknown;
    sqlMessage?: unknown;
    message?: unknown;
  };
  const code = typeof fields.code === 'string' ? fields.code : 'UNKNOWN';
  // `sqlMessage` is the server's own text; `message` is the driver's (network errors).
  const message =
    typeof fields.sqlMessage === 'string'
      ? fields.sqlMessage
      : typeof fields.message === 'string'
        ? fields.message
        : '';
  return { code, fatal: fields.fatal === true, message };
}
