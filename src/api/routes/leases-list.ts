import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { workloadInView } from '../../access/permits.js';
import { LEASE_STATES } from '../../leases/types.js';
import { routeAccess } from '../access.js';
import { LeaseSchema, leaseView, problemResponses, WorkloadId } from '../schemas.js';

export const listLeasesRoute = createRoute({
  method: 'get',
  path: '/v1/leases',
  tags: ['leases'],
  summary: 'List leases (a workload sees only its own)',
  ...routeAccess('lease.list'),
  request: {
    query: z.object({
      workload: WorkloadId.optional(),
      task: z.string().max(128).optional(),
      target: z.string().max(64).optional(),
      state: z.enum(LEASE_STATES).optional(),
      cursor: z.string().max(512).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
  },
  responses: {
    200: {
      description: 'A page of leases',
      content: {
        'application/json': {
          schema: z.object({ leases: z.array(LeaseSchema), next_cursor: z.string().optional() }),
        },
      },
    },
    ...problemResponses(401, 403, 422, 503),
  },
});

export function registerListLeases(app: OpenAPIHono): void {
  app.openapi(listLeasesRoute, async (c) => {
    const q = c.req.valid('query');
    const principal = c.get('principal');
    const workload = workloadInView(principal, q.workload);
    const page = await c.get('services').broker.listLeases(
      principal,
      {
        ...(workload === undefined ? {} : { workload }),
        ...(q.task === undefined ? {} : { task: q.task }),
        ...(q.target === undefined ? {} : { target: q.target }),
        ...(q.state === undefined ? {} : { state: q.state }),
      },
      q.limit,
      q.cursor,
    );
    return c.json(
      {
        leases: page.leases.map(leaseView),
        ...(page.cursor === undefined ? {} : { next_cursor: page.cursor }),
      },
      200,
    );
  });
}
