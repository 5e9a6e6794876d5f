import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { routeAccess } from '../access.js';
import { LeaseIdParam, LeaseSchema, leaseView, problemResponses } from '../schemas.js';

export const getLeaseRoute = createRoute({
  method: 'get',
  path: '/v1/leases/{id}',
  tags: ['leases'],
  summary: 'Lease metadata (never the credential)',
  ...routeAccess('lease.read'),
  request: { params: LeaseIdParam },
  responses: {
    200: { description: 'The lease', content: { 'application/json': { schema: LeaseSchema } } },
    ...problemResponses(401, 403, 404, 503),
  },
});

export function registerGetLease(app: OpenAPIHono): void {
  app.openapi(getLeaseRoute, async (c) => {
    const lease = await c
      .get('services')
      .broker.getLease(c.req.valid('param').id, c.get('principal'));
    return c.json(leaseView(lease), 200);
  });
}
