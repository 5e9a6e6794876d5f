import type { Context } from 'hono';
import type { CredentialRequest } from '../../broker/index.js';
import { AuthError, type VerifiedIdentity, type WorkloadPrincipal } from '../../identity/types.js';
import { reportAuthFailure } from '../auth.js';
import { OAuthError } from './errors.js';
import type { IdentityGrant } from './grant.js';

export interface VerifiedGrant {
  readonly principal: WorkloadPrincipal;
  readonly actor: CredentialRequest['actor'];
}

/**
 * Verifies the grant's tokens: the subject as a workload, the actor (when sent) as any
 * identity from a configured issuer, who must be another party than the subject.
 */
export async function verifyGrant(c: Context, grant: IdentityGrant): Promise<VerifiedGrant> {
  const identity = c.get('services').identity();
  const principal = await authenticated(c, grant.subjectToken, grant.parameter, () =>
    identity.authenticateWorkload(grant.subjectToken),
  );
  const actorToken = grant.actorToken;
  const actor =
    actorToken === undefined
      ? undefined
      : actorOf(
          await authenticated(c, actorToken, 'actor_token', () => identity.verify(actorToken)),
          principal,
        );
  return { principal, actor };
}

/** Same record as the bearer middleware keeps: reason and hash, never the token. */
export async function authenticated<T>(
  c: Context,
  token: string,
  parameter: 'subject_token' | 'assertion' | 'actor_token',
  verify: () => Promise<T>,
): Promise<T> {
  try {
    return await verify();
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    await reportAuthFailure(c, err, token, parameter);
    // RFC 7523 §3.1 and RFC 8693 §2.2.2: a grant that does not verify is invalid_grant.
    throw new OAuthError('invalid_grant', `the ${parameter} was not accepted`);
  }
}

function actorOf(
  identity: VerifiedIdentity,
  principal: WorkloadPrincipal,
): NonNullable<CredentialRequest['actor']> {
  if (identity.iss === principal.identity.iss && identity.subject === principal.identity.subject) {
    throw new OAuthError('invalid_request', 'the actor must be another party than the subject');
  }
  return {
    subject: identity.subject,
    issuer: identity.iss,
    claims: identity.claims as Record<string, unknown>,
  };
}
