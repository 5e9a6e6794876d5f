import type { Context } from 'hono';
import type { CredentialRequest } from '../../broker/index.js';
import { AuthError } from '../../identity/types.js';
import type { Resource } from '../../oauth/resources.js';
import { reportAuthFailure } from '../auth.js';
import { OAuthError } from './errors.js';
import { grantedScopes } from './resource-scope.js';
import type { RequestedTarget } from './target.js';
import { authenticated } from './verify-grant.js';

/** What a redeemed ID-JAG yields: the user as actor, the resource, the scopes granted. */
export interface RedeemedIdJag {
  readonly actor: NonNullable<CredentialRequest['actor']>;
  readonly resource: Resource;
  readonly scopes: string[];
}

/**
 * Redeems an ID-JAG for the authenticated client `clientId`: the grant is verified (see
 * `IdJagVerifier`), its `resource` must be a configured resource (and the one the request
 * names, if it names one), and the scopes are those both requested and asserted. The
 * enterprise user becomes the lease's actor, which policy sees as `actor`.
 */
export async function redeemIdJag(
  c: Context,
  assertion: string,
  clientId: string,
  requested: RequestedTarget | undefined,
  requestedScopes: readonly string[] | undefined,
): Promise<RedeemedIdJag> {
  const server = c.get('services').authorizationServer();
  const grant = await authenticated(c, assertion, 'assertion', () =>
    server.idJag.verify(assertion, clientId),
  );
  const resource = server.resources.find(grant.resource);
  if (resource === undefined || (requested !== undefined && requested.resource !== resource)) {
    const err = new AuthError('claim_invalid', 'the grant is for another resource', {
      tokenHash: grant.user.tokenHash,
      issuer: grant.user.issuer,
      subject: grant.user.subject,
    });
    await reportAuthFailure(c, err, assertion, 'assertion');
    throw new OAuthError('invalid_target', 'the grant is not for a resource this broker serves');
  }
  return {
    actor: {
      subject: grant.user.subject,
      issuer: grant.user.iss,
      claims: grant.user.claims as Record<string, unknown>,
    },
    resource,
    scopes: grantedScopes(requestedScopes, grant.scopes),
  };
}
