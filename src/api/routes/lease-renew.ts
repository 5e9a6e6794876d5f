import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { routeAccess } from '../access.js';
import { requestContext } from '../client-ip.js';
import { LeaseIdParam, problemResponses } from '../schemas.js';

export const renewLeaseRoute = createRoute({
  method: 'post',
  path: '/v1/leases/{id}/renew',
  tags: ['leases'],
  summary: 'Extend a lease within its policy’s max_ttl (counted from issuance)',
  description:
    '`jwt` answers with a reissued token; PostgreSQL moves `VALID UNTIL`; MySQL and Redis ACL users have no expiry of their own, so only the broker’s deadline moves. Other providers answer `not_renewable`.',
  ...routeAccess('lease.renew'),
  request: {
    params: LeaseIdParam,
    body: {
      required: false,
      content: {
        'application/json': {
          schema: z.object({ ttl: z.number().int().min(1).max(86_400).optional() }).strict(),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'The new expiry (and a reissued credential where the provider reissues)',
      content: {
        'application/json': {
          schema: z.object({
            lease_id: z.string(),
            expires_at: z.string(),
            credential: z.record(z.string(), z.unknown()).optional(),
          }),
        },
      },
    },
    ...problemResponses(401, 404, 409, 422, 502, 503),
  },
});

export function registerRenewLease(app: OpenAPIHono): void {
  app.openapi(renewLeaseRoute, async (c) => {
    const body = c.req.valid('json') ?? {};
    const { lease, credential } = await c
      .get('services')
      .broker.renewLease(c.req.valid('param').id, c.get('workload'), body.ttl, requestContext(c));
    c.header('cache-control', 'no-store');
    return c.json(
      {
        lease_id: lease.id,
        expires_at: new Date(lease.expiresAt).toISOString(),
        ...(credential === undefined ? {} : { credential: credential as Record<string, unknown> }),
      },
      200,
    );
  });
}
