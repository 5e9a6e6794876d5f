import { scrubSecrets } from '../../../src/lib/scrub-secrets.js';
import { ProviderError } from '../../provider.js';

/** SQLSTATEs that say "try again later" rather than "this will never work". */
const RETRYABLE_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '57014', // query_canceled (statement_timeout)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);
const RETRYABLE_CLASSES = ['08', '53']; // connection exception, insufficient resources
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
]);

export interface PgErrorLike {
  code?: unknown;
  message?: unknown;
  detail?: unknown;
}

export function sqlState(err: unknown): string | undefined {
  const code = (err as PgErrorLike | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** `42704 undefined_object`: the role is already gone. */
export function isUndefinedObject(err: unknown): boolean {
  return sqlState(err) === '42704';
}

/**
 * Removes what must never leave the provider: the secrets it was handed (password, verifier,
 * admin URL), anything shaped like a SCRAM verifier, and passwords inside connection URLs.
 */
export function scrub(text: string, secrets: readonly string[]): string {
  return scrubSecrets(text, secrets)
    .replace(/SCRAM-SHA-256\$[^\s'"]*/g, 'SCRAM-SHA-256$[redacted]')
    .replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1[redacted]@')
    .replace(/(password\s*=?\s*)'[^']*'/gi, "$1'[redacted]'");
}

/**
 * A typed, scrubbed error for a failed step. Connection trouble is `provider_unavailable`
 * (retryable); bad admin credentials or missing grants are `provider_misconfigured`; anything
 * else the server refused is `provider_rejected`.
 */
export function toProviderError(
  target: string,
  step: string,
  err: unknown,
  secrets: readonly string[],
): ProviderError {
  if (err instanceof ProviderError) return err;
  const state = sqlState(err);
  const raw = err as PgErrorLike | null;
  const nodeCode = typeof raw?.code === 'string' ? raw.code : undefined;
  const text = typeof raw?.message === 'string' ? raw.message : 'unknown error';
  const detail = typeof raw?.detail === 'string' ? ` (${raw.detail})` : '';
  const message = scrub(
    `postgres target "${target}": ${step} failed: ${text}${detail}${state ? ` [SQLSTATE ${state}]` : ''}`,
    secrets,
  );
  if (state !== undefined) {
    if (RETRYABLE_SQLSTATES.has(state) || RETRYABLE_CLASSES.includes(state.slice(0, 2))) {
      return new ProviderError('provider_unavailable', message, true);
    }
    if (state === 'XX000' && text.includes('tuple concurrently updated')) {
      return new ProviderError('provider_unavailable', message, true);
    }
    if (state.startsWith('28') || state === '42501') {
      return new ProviderError('provider_misconfigured', message, false);
    }
    return new ProviderError('provider_rejected', message, false);
  }
  if (
    (nodeCode !== undefined && NETWORK_CODES.has(nodeCode)) ||
    /timeout|terminated|Connection terminated|ECONN/i.test(text)
  ) {
    return new ProviderError('provider_unavailable', message, true);
  }
  return new ProviderError('provider_rejected', message, false);
}
