import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { routeAccess } from '../access.js';
import { requestContext } from '../client-ip.js';
import { problemResponses, WorkloadIdParam } from '../schemas.js';

export const unblockWorkloadRoute = createRoute({
  method: 'post',
  path: '/v1/workloads/{id}/unblock',
  tags: ['workloads'],
  summary: 'Lift a block',
  ...routeAccess('workload.unblock'),
  request: { params: WorkloadIdParam },
  responses: {
    200: {
      description: 'Whether a block was lifted',
      content: {
        'application/json': { schema: z.object({ workload: z.string(), unblocked: z.boolean() }) },
      },
    },
    ...problemResponses(401, 403, 422, 503),
  },
});

export function registerUnblockWorkload(app: OpenAPIHono): void {
  app.openapi(unblockWorkloadRoute, async (c) => {
    const id = c.req.valid('param').id;
    const unblocked = await c
      .get('services')
      .broker.unblockWorkload(id, c.get('operator'), requestContext(c));
    return c.json({ workload: id, unblocked }, 200);
  });
}
