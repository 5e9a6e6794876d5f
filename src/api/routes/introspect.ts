import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { routeAccess } from '../access.js';
import { problemResponses } from '../schemas.js';

export const introspectRoute = createRoute({
  method: 'post',
  path: '/v1/introspect',
  tags: ['credentials'],
  summary: 'RFC 7662 token introspection for broker-signed JWTs',
  description:
    'The caller authenticates with its own workload JWT and must be a resource server of the token’s audience; every other case answers `{"active": false}`.',
  ...routeAccess('token.introspect'),
  request: {
    body: {
      required: true,
      content: {
        'application/x-www-form-urlencoded': {
          schema: z.object({
            token: z.string().min(1).max(16_384),
            token_type_hint: z.string().max(64).optional(),
          }),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'RFC 7662 response',
      content: {
        'application/json': { schema: z.object({ active: z.boolean() }).catchall(z.unknown()) },
      },
    },
    ...problemResponses(401, 413, 422, 503),
  },
});

export function registerIntrospect(app: OpenAPIHono): void {
  app.openapi(introspectRoute, async (c) => {
    const { token } = c.req.valid('form');
    const result = await c.get('services').broker.introspect(token, c.get('workload'));
    c.header('cache-control', 'no-store');
    return c.json({ active: false, ...result }, 200);
  });
}
