import type { Context } from 'hono';
import { sha256Hex } from '../identity/token-hash.js';
import { AuthError, type Principal } from '../identity/types.js';
import { clientIp } from './client-ip.js';

const MAX_HEADER = 20_000;

function bearer(c: Context): string {
  const header = c.req.header('authorization');
  if (!header) throw new AuthError('missing_token', 'no bearer token');
  if (header.length > MAX_HEADER) {
    // Too large to be ours; the hash still lets a SIEM correlate repeated attempts.
    throw new AuthError('too_large', 'authorization header too large', {
      tokenHash: sha256Hex(header),
    });
  }
  const match = /^Bearer +(\S+)$/i.exec(header);
  if (!match?.[1]) throw new AuthError('malformed', 'authorization header is not a bearer token');
  return match[1];
}

/**
 * Authenticates the caller. Every refusal becomes an `auth.failed` event carrying the
 * reason and the token's SHA-256, never the token, and a 401.
 */
export async function authenticate(
  c: Context,
  allow: 'workload' | 'operator' | 'any',
): Promise<Principal> {
  const services = c.get('services');
  let token: string | undefined;
  try {
    token = bearer(c);
    const operators = services.operators();
    if (allow !== 'workload' && operators.isOperatorToken(token)) {
      const operator = await operators.authenticate(token, clientIp(c) ?? 'unknown');
      if (operator.via === 'break_glass') {
        await services.events.emit(
          {
            type: 'operator.break_glass_used',
            severity: 'critical',
            outcome: 'success',
            actor: `break-glass:${operator.name}`,
            request_id: c.get('requestId'),
            token_sha256: operator.tokenHash,
            detail: { method: c.req.method, path: c.req.path },
            ...ipField(c),
          },
          { failClosed: false },
        );
      }
      return operator;
    }
    if (allow === 'operator')
      throw new AuthError('unsupported_token', 'an operator token is required');
    return await services.identity().authenticateWorkload(token);
  } catch (err) {
    if (err instanceof AuthError) await reportAuthFailure(c, err, token);
    throw err;
  }
}

/**
 * Every refused token is counted and reaches the audit trail with the reason and the
 * token's SHA-256 — never the token: as an `auth.failed` event of its own, or, past a
 * source's burst, in the count of a summary (`authFailures`), so anonymous traffic cannot
 * flood the sinks. `parameter` names the form field for `/oauth/token`.
 */
export async function reportAuthFailure(
  c: Context,
  err: AuthError,
  token: string | undefined,
  parameter?: string,
): Promise<void> {
  const services = c.get('services');
  services.metrics.authFailures.inc({ reason: err.reason });
  const tokenHash = err.tokenHash ?? (token === undefined ? undefined : sha256Hex(token));
  await services.authFailures.report({
    type: 'auth.failed',
    outcome: 'failure',
    reason: err.reason,
    request_id: c.get('requestId'),
    ...(tokenHash === undefined ? {} : { token_sha256: tokenHash }),
    ...(err.issuer === undefined ? {} : { issuer: err.issuer }),
    ...(err.subject === undefined ? {} : { subject: err.subject }),
    detail: {
      method: c.req.method,
      path: c.req.path,
      ...(parameter === undefined ? {} : { parameter }),
    },
    ...ipField(c),
  });
}

function ipField(c: Context): { source_ip?: string } {
  const ip = clientIp(c);
  return ip === undefined ? {} : { source_ip: ip };
}
