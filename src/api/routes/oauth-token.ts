import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { CredentialRequest } from '../../broker/index.js';
import type { WorkloadPrincipal } from '../../identity/types.js';
import { authorize, documentRoute, routeAccess } from '../access.js';
import { requestContext } from '../client-ip.js';
import {
  authenticateClient,
  type ClientAssertion,
  clientAssertionOf,
} from '../oauth/client-auth.js';
import { asOAuthError, OAuthError, oauthErrorResponse } from '../oauth/errors.js';
import { one, readForm } from '../oauth/form.js';
import { grantOf } from '../oauth/grant.js';
import { redeemIdJag } from '../oauth/id-jag-grant.js';
import { checkResourceScopes, scopeTokens } from '../oauth/resource-scope.js';
import { NO_STORE, tokenResponse } from '../oauth/response.js';
import { OAuthErrorSchema, TokenRequestSchema, TokenResponseSchema } from '../oauth/schemas.js';
import { scopeFromString } from '../oauth/scope-string.js';
import { type RequestedTarget, targetOf } from '../oauth/target.js';
import { taskOf } from '../oauth/task.js';
import { verifyGrant } from '../oauth/verify-grant.js';

/**
 * `POST /oauth/token`: RFC 8693 token exchange, RFC 7523 jwt-bearer, RFC 6749 client
 * credentials (the client authenticated by its identity JWT as `client_assertion`) and
 * ID-JAG redemption, all front doors to the same policy and lease path as
 * `POST /v1/credentials`. `resource` may name a configured resource by its canonical URI
 * (RFC 8707): the token's `aud` is then that URI. Errors are RFC 6749 §5.2 JSON.
 */
export const oauthTokenRoute = createRoute({
  method: 'post',
  path: '/oauth/token',
  tags: ['credentials'],
  summary: 'OAuth token endpoint: token exchange, jwt-bearer, client credentials, ID-JAG',
  ...routeAccess('oauth.token'),
  request: {
    body: {
      required: true,
      content: { 'application/x-www-form-urlencoded': { schema: TokenRequestSchema } },
    },
  },
  responses: {
    200: {
      description: 'Issued',
      content: { 'application/json': { schema: TokenResponseSchema } },
    },
    400: {
      description: 'RFC 6749 §5.2 error',
      content: { 'application/json': { schema: OAuthErrorSchema } },
    },
    401: {
      description: 'invalid_client: the client assertion was not accepted',
      content: { 'application/json': { schema: OAuthErrorSchema } },
    },
    429: {
      description: 'Lease cap reached',
      content: { 'application/json': { schema: OAuthErrorSchema } },
    },
    502: {
      description: 'Provider failed',
      content: { 'application/json': { schema: OAuthErrorSchema } },
    },
    503: {
      description: 'Frozen, or store or audit unavailable',
      content: { 'application/json': { schema: OAuthErrorSchema } },
    },
  },
});

/** Everything is parsed before any token is verified, so a malformed request costs nothing. */
async function exchange(c: Context): Promise<Response> {
  const params = await readForm(c);
  const client = clientAssertionOf(c, params);
  const grant = grantOf(params, client !== undefined);
  const { resources } = c.get('services').authorizationServer();
  // An ID-JAG names its resource itself; a `resource` sent beside it must be the same one.
  const named =
    grant.kind === 'id_jag' && !params.has('resource') && !params.has('audience')
      ? undefined
      : targetOf(params, resources);
  const scopeText = one(params, 'scope');
  if (scopeText === undefined && grant.kind !== 'id_jag')
    throw new OAuthError('invalid_scope', 'the "scope" parameter is required');
  if (scopeText !== undefined) scopeFromString(scopeText);
  const task = taskOf(params);

  let principal: WorkloadPrincipal;
  let actor: CredentialRequest['actor'];
  let target: RequestedTarget;
  let tokens: readonly string[];
  if (grant.kind === 'identity') {
    ({ principal, actor } = await verifyGrant(c, grant));
    target = named as RequestedTarget;
    tokens = scopeTokens(scopeText as string);
  } else {
    principal = await authenticateClient(c, client as ClientAssertion);
    if (grant.kind === 'client_credentials') {
      target = named as RequestedTarget;
      tokens = scopeTokens(scopeText as string);
    } else {
      const requested = scopeText === undefined ? undefined : scopeTokens(scopeText);
      const redeemed = await redeemIdJag(
        c,
        grant.assertion,
        principal.workload.id,
        named,
        requested,
      );
      actor = redeemed.actor;
      target = { target: redeemed.resource.target, resource: redeemed.resource };
      tokens = redeemed.scopes;
    }
  }
  checkResourceScopes(target.resource, tokens);
  const scope = scopeFromString(tokens.join(' '));
  const { broker } = c.get('services');
  const issued = await broker.issue(
    principal,
    { target: target.target, scope, task, ...(actor === undefined ? {} : { actor }) },
    requestContext(c),
  );
  return c.json(tokenResponse(issued, Date.now()), 200, NO_STORE);
}

/** Errors leave as RFC 6749 §5.2 JSON; one with no OAuth answer goes on to `app.onError`. */
async function oauthToken(c: Context): Promise<Response> {
  try {
    return await exchange(c);
  } catch (err) {
    const oauth = asOAuthError(err);
    if (oauth === undefined) throw err;
    return oauthErrorResponse(oauth);
  }
}

export function registerOAuthToken(app: OpenAPIHono): void {
  // Documented through the registry but parsed by hand: the zod hook would answer
  // problem+json, and RFC 6749 wants its own error format and duplicate-parameter rule.
  documentRoute(app, oauthTokenRoute);
  // The action's rule is a grant in the body: authorize() only records the action, and
  // exchange() verifies the grant.
  app.post('/oauth/token', authorize('oauth.token'), oauthToken);
}
