import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AwaitingApproval } from '../../broker/types.js';
import { authorize, documentRoute, routeAccess } from '../access.js';
import { requestContext } from '../client-ip.js';
import { asOAuthError, oauthErrorResponse } from '../oauth/errors.js';
import { readForm } from '../oauth/form.js';
import { redeem } from '../oauth/redeem.js';
import { checkResourceScopes } from '../oauth/resource-scope.js';
import { NO_STORE, tokenResponse } from '../oauth/response.js';
import { OAuthErrorSchema, TokenRequestSchema, TokenResponseSchema } from '../oauth/schemas.js';
import { scopeFromString } from '../oauth/scope-string.js';
import { tokenRequestOf } from '../oauth/token-request.js';

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
  const request = tokenRequestOf(c, await readForm(c));
  const { principal, actor, target, scopes } = await redeem(c, request);
  checkResourceScopes(target.resource, scopes);
  const { broker } = c.get('services');
  const issued = await broker.issue(
    principal,
    {
      target: target.target,
      scope: scopeFromString(scopes.join(' ')),
      task: request.task,
      ...(actor === undefined ? {} : { actor }),
    },
    requestContext(c),
  );
  if ('approval' in issued) return approvalPending(issued);
  return c.json(tokenResponse(issued, Date.now()), 200, NO_STORE);
}

/**
 * A grant that waits for an operator, in RFC 8628 §3.5's words: `authorization_pending`
 * (400), with the approval's id and expiry so the client can show them, and `interval` and
 * `Retry-After` for when to repeat the same request. A denial is `access_denied`.
 */
function approvalPending({ approval, retryAfter }: AwaitingApproval): Response {
  const body = {
    error: 'authorization_pending',
    error_description: 'an operator must approve this request; repeat it to collect the token',
    approval_id: approval.id,
    expires_at: new Date(approval.expiresAt).toISOString(),
    interval: retryAfter,
  };
  return new Response(JSON.stringify(body), {
    status: 400,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      pragma: 'no-cache',
      'retry-after': String(retryAfter),
    },
  });
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
