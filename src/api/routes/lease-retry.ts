import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { routeAccess } from '../access.js';
import { requestContext } from '../client-ip.js';
import { LeaseIdParam, problemResponses, RevocationSchema } from '../schemas.js';

export const retryLeaseRoute = createRoute({
  method: 'post',
  path: '/v1/leases/{id}/retry',
  tags: ['leases'],
  summary: 'Retry the revocation of a revoke_failed lease now',
  ...routeAccess('lease.retry'),
  request: { params: LeaseIdParam },
  responses: {
    200: {
      description: 'The state after this attempt',
      content: { 'application/json': { schema: RevocationSchema } },
    },
    ...problemResponses(401, 403, 404, 409, 503),
  },
});

export function registerRetryLease(app: OpenAPIHono): void {
  app.openapi(retryLeaseRoute, async (c) => {
    const result = await c
      .get('services')
      .broker.retryLease(c.req.valid('param').id, c.get('operator'), requestContext(c));
    return c.json({ lease_id: result.lease.id, state: result.state }, 200);
  });
}
