import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { routeAccess } from '../access.js';
import { requestContext } from '../client-ip.js';
import { problemResponses, WorkloadIdParam } from '../schemas.js';

const HoldSchema = z
  .object({
    rule: z.string().openapi({ description: 'The detection that placed it' }),
    at: z.string().openapi({ description: 'When the detection fired (ISO 8601)' }),
    until: z.string().openapi({ description: 'When the hold ends by itself (ISO 8601)' }),
  })
  .openapi('DetectionHold');

export const getWorkloadHoldRoute = createRoute({
  method: 'get',
  path: '/v1/workloads/{id}/hold',
  tags: ['workloads'],
  summary: "A detection's approval hold on a workload",
  description:
    'The hold a `require_approval` detection placed: while it stands, every grant of the workload waits for an approver. `hold` is null when none holds.',
  ...routeAccess('workload.hold'),
  request: { params: WorkloadIdParam },
  responses: {
    200: {
      description: 'The hold in force, or null',
      content: {
        'application/json': {
          schema: z.object({ workload: z.string(), hold: HoldSchema.nullable() }),
        },
      },
    },
    ...problemResponses(401, 403, 422, 503),
  },
});

export const releaseWorkloadHoldRoute = createRoute({
  method: 'delete',
  path: '/v1/workloads/{id}/hold',
  tags: ['workloads'],
  summary: "Lift a detection's approval hold",
  description:
    'Ends a `require_approval` hold before `hold_for` passes. A `detection.hold_released` event names the operator and the rule.',
  ...routeAccess('workload.release'),
  request: { params: WorkloadIdParam },
  responses: {
    200: {
      description: 'Whether a hold was lifted',
      content: {
        'application/json': { schema: z.object({ workload: z.string(), released: z.boolean() }) },
      },
    },
    ...problemResponses(401, 403, 422, 503),
  },
});

export function registerWorkloadHold(app: OpenAPIHono): void {
  app.openapi(getWorkloadHoldRoute, async (c) => {
    const id = c.req.valid('param').id;
    const hold = await c.get('services').broker.detectionHold(id);
    return c.json({ workload: id, hold }, 200);
  });
  app.openapi(releaseWorkloadHoldRoute, async (c) => {
    const id = c.req.valid('param').id;
    const released = await c
      .get('services')
      .broker.releaseHold(id, c.get('operator'), requestContext(c));
    return c.json({ workload: id, released }, 200);
  });
}
