import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { routeAccess } from '../access.js';

export const jwksRoute = createRoute({
  method: 'get',
  path: '/.well-known/jwks.json',
  tags: ['keys'],
  summary: 'Public keys of broker-signed JWTs (next keys are published before they sign)',
  ...routeAccess('keys.read'),
  responses: {
    200: {
      description: 'JWK Set',
      content: {
        'application/json': {
          schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
        },
      },
    },
  },
});

export function registerJwks(app: OpenAPIHono): void {
  app.openapi(jwksRoute, (c) => {
    c.header('cache-control', 'public, max-age=300');
    return c.json({ keys: c.get('services').jwks() as Record<string, unknown>[] }, 200);
  });
}
