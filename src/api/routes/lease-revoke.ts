import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { routeAccess } from '../access.js';
import { requestContext } from '../client-ip.js';
import { LeaseIdParam, problemResponses, RevocationSchema } from '../schemas.js';

export const revokeLeaseRoute = createRoute({
  method: 'delete',
  path: '/v1/leases/{id}',
  tags: ['leases'],
  summary: 'Revoke one lease (its owner, or a revoker)',
  ...routeAccess('lease.revoke'),
  request: { params: LeaseIdParam },
  responses: {
    200: {
      description: 'Revoked (or already finished)',
      content: { 'application/json': { schema: RevocationSchema } },
    },
    202: {
      description: 'Revocation in flight (minting, retrying, or another replica holds it)',
      content: { 'application/json': { schema: RevocationSchema } },
    },
    ...problemResponses(401, 403, 404, 503),
  },
});

export function registerRevokeLease(app: OpenAPIHono): void {
  app.openapi(revokeLeaseRoute, async (c) => {
    const result = await c
      .get('services')
      .broker.revokeLease(c.req.valid('param').id, c.get('principal'), requestContext(c));
    const finished = result.state === 'revoked' || result.state === 'expired';
    const body = { lease_id: result.lease.id, state: result.state };
    return finished ? c.json(body, 200) : c.json(body, 202);
  });
}
