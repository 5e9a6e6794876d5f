import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { routeAccess } from '../access.js';

export const auditKeysRoute = createRoute({
  method: 'get',
  path: '/.well-known/jit-audit-keys.json',
  tags: ['keys'],
  summary:
    'Public keys of the audit chain (next keys published before they sign, retired ones while their chains are kept)',
  ...routeAccess('audit.keys'),
  responses: {
    200: {
      description:
        'JWK Set (RFC 7517) of Ed25519 keys (RFC 8037): the anchor for `jit-broker events verify --jwks`. Empty when no `events.signing` keys are configured: each replica then signs with a key of its own that nothing outside its chain vouches for.',
      content: {
        'application/json': {
          schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
        },
      },
    },
  },
});

export function registerAuditKeys(app: OpenAPIHono): void {
  app.openapi(auditKeysRoute, (c) => {
    // Shorter than a rotation takes: a `next` key reaches verifiers well before it signs.
    c.header('cache-control', 'public, max-age=300');
    return c.json({ keys: c.get('services').auditKeys() as Record<string, unknown>[] }, 200);
  });
}
