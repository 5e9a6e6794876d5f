import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { authorize, documentRoute, routeAccess } from '../access.js';
import { requestContext } from '../client-ip.js';
import { authenticateClient, clientAssertionOf } from '../oauth/client-auth.js';
import { asOAuthError, OAuthError, oauthErrorResponse } from '../oauth/errors.js';
import { readForm, required } from '../oauth/form.js';
import { OAuthErrorSchema } from '../oauth/schemas.js';
import { CLIENT_ASSERTION_JWT } from '../oauth/urns.js';

export const oauthRevokeRoute = createRoute({
  method: 'post',
  path: '/oauth/revoke',
  tags: ['credentials'],
  summary: 'RFC 7009 token revocation: a client ends its own broker-issued token',
  description:
    'The client authenticates with its identity JWT as `client_assertion`. The lease behind the token ends; an unknown token, or one that is not the client’s, answers 200 too and nothing is revoked.',
  ...routeAccess('oauth.revoke'),
  request: {
    body: {
      required: true,
      content: {
        'application/x-www-form-urlencoded': {
          schema: z
            .object({
              token: z.string(),
              token_type_hint: z.string().optional(),
              client_assertion_type: z.literal(CLIENT_ASSERTION_JWT),
              client_assertion: z.string(),
              client_id: z.string().optional(),
            })
            .openapi('TokenRevocationRequest'),
        },
      },
    },
  },
  responses: {
    200: { description: 'Revoked, or not a token of this client (RFC 7009 §2.2)' },
    400: {
      description: 'RFC 6749 §5.2 error',
      content: { 'application/json': { schema: OAuthErrorSchema } },
    },
    401: {
      description: 'invalid_client',
      content: { 'application/json': { schema: OAuthErrorSchema } },
    },
    503: {
      description: 'Store unavailable',
      content: { 'application/json': { schema: OAuthErrorSchema } },
    },
  },
});

/** RFC 7009 §2.1: `token` is required; `token_type_hint` is only a hint, any value is taken. */
async function revoke(c: Context): Promise<Response> {
  const params = await readForm(c);
  const token = required(params, 'token');
  const client = clientAssertionOf(c, params);
  if (client === undefined) {
    throw new OAuthError('invalid_client', 'authenticate with a client_assertion', 401);
  }
  const principal = await authenticateClient(c, client);
  await c.get('services').broker.revokeToken(token, principal, requestContext(c));
  return new Response(null, {
    status: 200,
    headers: { 'cache-control': 'no-store', pragma: 'no-cache' },
  });
}

async function oauthRevoke(c: Context): Promise<Response> {
  try {
    return await revoke(c);
  } catch (err) {
    const oauth = asOAuthError(err);
    if (oauth === undefined) throw err;
    return oauthErrorResponse(oauth);
  }
}

export function registerOAuthRevoke(app: OpenAPIHono): void {
  // Parsed by hand, as /oauth/token: RFC 6749 errors and its duplicate-parameter rule.
  documentRoute(app, oauthRevokeRoute);
  app.post('/oauth/revoke', authorize('oauth.revoke'), oauthRevoke);
}
