import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { routeAccess } from '../access.js';
import { problemResponses } from '../schemas.js';

export const InventorySchema = z
  .object({
    generated_at: z.string(),
    truncated: z.boolean(),
    workloads: z.array(
      z.object({
        workload: z.string(),
        configured: z.boolean(),
        owner: z.string().optional(),
        description: z.string().optional(),
        tier: z.string().optional(),
        review_by: z.string().optional(),
        review_due: z.boolean(),
        review_overdue: z.boolean(),
        live_leases: z.number().int(),
        blocked: z.boolean(),
        last_used: z.string().optional(),
        last_used_partial: z.boolean().optional(),
      }),
    ),
  })
  .openapi('WorkloadInventory');

/** A fixed path under `/v1/workloads/`: registered before the `{id}` routes, never taken as an id. */
export const workloadInventoryRoute = createRoute({
  method: 'get',
  path: '/v1/workloads/inventory',
  tags: ['workloads'],
  summary: 'Every machine identity: owner, tier, review date, live leases, last use',
  description:
    'Configured workloads and those the store has leases of that are no longer configured. Reads at most 20,000 lease records (2,000 a workload); `last_used_partial` marks an entry whose leases were not all read.',
  ...routeAccess('workload.inventory'),
  responses: {
    200: {
      description: 'The inventory',
      content: { 'application/json': { schema: InventorySchema } },
    },
    ...problemResponses(401, 403, 503),
  },
});

export function registerWorkloadInventory(app: OpenAPIHono): void {
  app.openapi(workloadInventoryRoute, async (c) => {
    return c.json(await c.get('services').broker.workloadInventory(), 200);
  });
}
