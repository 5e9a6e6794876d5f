import type { Context } from 'hono';
import type { CredentialRequest } from '../../broker/index.js';
import type { WorkloadPrincipal } from '../../identity/types.js';
import { authenticateClient } from './client-auth.js';
import { redeemIdJag } from './id-jag-grant.js';
import type { RequestedTarget } from './target.js';
import type { TokenRequest } from './token-request.js';
import { verifyGrant } from './verify-grant.js';

/** Who asks, for whom, for what: the tokens of a `TokenRequest`, verified. */
export interface Redeemed {
  readonly principal: WorkloadPrincipal;
  readonly actor: CredentialRequest['actor'];
  readonly target: RequestedTarget;
  readonly scopes: readonly string[];
}

/**
 * Verifies what the request presents. The principal is always a workload: the grant's own
 * subject (token exchange, jwt-bearer) or the authenticated client (client credentials,
 * ID-JAG); the actor is the `actor_token`'s party or the ID-JAG's user.
 */
export async function redeem(c: Context, request: TokenRequest): Promise<Redeemed> {
  switch (request.kind) {
    case 'identity': {
      const { principal, actor } = await verifyGrant(c, request.grant);
      return { principal, actor, target: request.target, scopes: request.scopes };
    }
    case 'client_credentials': {
      const principal = await authenticateClient(c, request.client);
      return { principal, actor: undefined, target: request.target, scopes: request.scopes };
    }
    case 'id_jag': {
      const principal = await authenticateClient(c, request.client);
      const grant = await redeemIdJag(
        c,
        request.assertion,
        principal.workload.id,
        request.target,
        request.scopes,
      );
      const target = { target: grant.resource.target, resource: grant.resource };
      return { principal, actor: grant.actor, target, scopes: grant.scopes };
    }
  }
}
