import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { routeAccess } from '../access.js';
import { problemResponses } from '../schemas.js';

const WorkloadSchema = z
  .object({
    workload: z.string(),
    tier: z.string().optional(),
    configured: z.boolean(),
    live_leases: z.number().int(),
    blocked: z.boolean(),
    revoked_before: z.string().optional(),
  })
  .openapi('Workload');

export const listWorkloadsRoute = createRoute({
  method: 'get',
  path: '/v1/workloads',
  tags: ['workloads'],
  summary: 'Workloads with live lease counts and the blocked flag',
  ...routeAccess('workload.list'),
  responses: {
    200: {
      description: 'Workloads',
      content: { 'application/json': { schema: z.object({ workloads: z.array(WorkloadSchema) }) } },
    },
    ...problemResponses(401, 403, 503),
  },
});

export function registerListWorkloads(app: OpenAPIHono): void {
  app.openapi(listWorkloadsRoute, async (c) => {
    const workloads = await c.get('services').broker.listWorkloads();
    return c.json(
      {
        workloads: workloads.map((w) => ({
          workload: w.workload,
          ...(w.tier === undefined ? {} : { tier: w.tier }),
          configured: w.configured,
          live_leases: w.live,
          blocked: w.blocked,
          ...(w.revokedBefore === undefined
            ? {}
            : { revoked_before: new Date(w.revokedBefore).toISOString() }),
        })),
      },
      200,
    );
  });
}
