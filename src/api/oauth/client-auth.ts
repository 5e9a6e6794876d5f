import type { Context } from 'hono';
import { isIdJagToken } from '../../identity/id-jag.js';
import { AuthError, type WorkloadPrincipal } from '../../identity/types.js';
import { reportAuthFailure } from '../auth.js';
import { OAuthError } from './errors.js';
import { type FormParameters, one } from './form.js';
import { CLIENT_ASSERTION_JWT } from './urns.js';

/** The client authentication a request carries, checked for shape only. */
export interface ClientAssertion {
  readonly assertion: string;
  /** The `client_id` parameter, when sent: it must name the workload the assertion proves. */
  readonly clientId: string | undefined;
}

/**
 * RFC 7523 §2.2 client authentication (`private_key_jwt` in RFC 8414 terms), the one method
 * this broker takes: `client_assertion` is the workload's identity JWT. RFC 6749 §2.3 allows
 * one method per request, so a secret or an `Authorization` header beside it is refused.
 */
export function clientAssertionOf(c: Context, params: FormParameters): ClientAssertion | undefined {
  const assertion = one(params, 'client_assertion');
  const type = one(params, 'client_assertion_type');
  if (params.has('client_secret')) {
    throw new OAuthError('invalid_client', 'client secrets are not accepted', 401);
  }
  if (assertion === undefined && type === undefined) return undefined;
  if (assertion === undefined || type === undefined) {
    throw new OAuthError(
      'invalid_request',
      'client_assertion and client_assertion_type go together',
    );
  }
  if (type !== CLIENT_ASSERTION_JWT) {
    throw new OAuthError('invalid_client', 'client_assertion_type must be jwt-bearer', 401);
  }
  if (c.req.header('authorization') !== undefined) {
    throw new OAuthError('invalid_request', 'use one client authentication method, not two');
  }
  return { assertion, clientId: one(params, 'client_id') };
}

/**
 * Authenticates the client as a workload, through the same verifier as every other front
 * door (issuer profiles, one-time `jti`, TokenReview): so the assertion's `aud` must be the
 * audience its issuer is configured with. A refusal is an `auth.failed` event and
 * `invalid_client` (RFC 6749 §5.2, 401).
 */
export async function authenticateClient(
  c: Context,
  client: ClientAssertion,
): Promise<WorkloadPrincipal> {
  try {
    // An ID-JAG is a user's grant, never the client's own credential.
    if (isIdJagToken(client.assertion)) {
      throw new AuthError('unsupported_token', 'an ID-JAG is not a client assertion');
    }
    const principal = await c.get('services').identity().authenticateWorkload(client.assertion);
    if (client.clientId !== undefined && client.clientId !== principal.workload.id) {
      throw new AuthError('client_mismatch', 'client_id does not name the asserted workload', {
        tokenHash: principal.identity.tokenHash,
        issuer: principal.identity.issuer,
        subject: principal.identity.subject,
      });
    }
    return principal;
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    await reportAuthFailure(c, err, client.assertion, 'client_assertion');
    throw new OAuthError('invalid_client', 'the client_assertion was not accepted', 401);
  }
}
