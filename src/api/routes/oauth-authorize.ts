import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { authorize, documentRoute, routeAccess } from '../access.js';
import { OAuthError, oauthErrorResponse } from '../oauth/errors.js';
import { OAuthErrorSchema } from '../oauth/schemas.js';

export const authorizeRoute = createRoute({
  method: 'get',
  path: '/oauth/authorize',
  tags: ['credentials'],
  summary: 'Authorization endpoint: the broker supports no response type',
  description:
    'Named in the metadata because MCP clients require an authorization endpoint; tokens come only from `/oauth/token`.',
  ...routeAccess('oauth.authorize'),
  responses: {
    400: {
      description: 'unsupported_response_type',
      content: { 'application/json': { schema: OAuthErrorSchema } },
    },
  },
});

/**
 * RFC 6749 §4.1.2.1: with no registered redirect URI to trust, the error is shown to the
 * user agent here rather than sent to whatever `redirect_uri` the request names.
 */
export function registerAuthorize(app: OpenAPIHono): void {
  documentRoute(app, authorizeRoute);
  app.get('/oauth/authorize', authorize('oauth.authorize'), () =>
    oauthErrorResponse(
      new OAuthError(
        'unsupported_response_type',
        'this broker has no user authorization flow; use the token endpoint',
      ),
    ),
  );
}
