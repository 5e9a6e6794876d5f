import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { routeAccess } from '../access.js';
import { requestContext } from '../client-ip.js';
import { CountsSchema, problemResponses, WorkloadIdParam } from '../schemas.js';

export const revokeWorkloadRoute = createRoute({
  method: 'post',
  path: '/v1/workloads/{id}/revoke',
  tags: ['workloads'],
  summary: 'Kill switch: revoke every lease of a workload, optionally blocking it',
  ...routeAccess('workload.revoke'),
  request: {
    params: WorkloadIdParam,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              reason: z.string().min(1).max(256),
              block: z.boolean().default(false),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'Counts at the deadline; the reaper finishes whatever is still revoking',
      content: {
        'application/json': {
          schema: CountsSchema.extend({ workload: z.string(), blocked: z.boolean() }),
        },
      },
    },
    ...problemResponses(401, 403, 422, 503),
  },
});

export function registerRevokeWorkload(app: OpenAPIHono): void {
  app.openapi(revokeWorkloadRoute, async (c) => {
    const body = c.req.valid('json');
    const result = await c
      .get('services')
      .broker.revokeWorkload(c.req.valid('param').id, body, c.get('operator'), requestContext(c));
    return c.json(result, 200);
  });
}
