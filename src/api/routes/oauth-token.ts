import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { authorize, documentRoute, routeAccess } from '../access.js';
import { requestContext } from '../client-ip.js';
import { asOAuthError, OAuthError, oauthErrorResponse } from '../oauth/errors.js';
import { one, readForm } from '../oauth/form.js';
import { grantOf } from '../oauth/grant.js';
import { NO_STORE, tokenResponse } from '../oauth/response.js';
import { OAuthErrorSchema, TokenRequestSchema, TokenResponseSchema } from '../oauth/schemas.js';
import { scopeFromString } from '../oauth/scope-string.js';
import { targetOf } from '../oauth/target.js';
import { taskOf } from '../oauth/task.js';
import { verifyGrant } from '../oauth/verify-grant.js';

/**
 * `POST /oauth/token`: RFC 8693 token exchange and RFC 7523 jwt-bearer as a front door to
 * the same policy and lease path as `POST /v1/credentials`. The workload's identity token is
 * the grant (no client authentication); errors are RFC 6749 §5.2 JSON, not problem+json.
 */
export const oauthTokenRoute = createRoute({
  method: 'post',
  path: '/oauth/token',
  tags: ['credentials'],
  summary: 'RFC 8693 token exchange / RFC 7523 jwt-bearer front door to issuance',
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
  const grant = grantOf(params);
  const target = targetOf(params);
  const scopeText = one(params, 'scope');
  if (scopeText === undefined)
    throw new OAuthError('invalid_scope', 'the "scope" parameter is required');
  const scope = scopeFromString(scopeText);
  const task = taskOf(params);

  const parameter = params.has('assertion') ? 'assertion' : 'subject_token';
  const { principal, actor } = await verifyGrant(c, grant, parameter);
  const { broker } = c.get('services');
  const issued = await broker.issue(
    principal,
    { target, scope, task, ...(actor === undefined ? {} : { actor }) },
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
