import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { workloadInView } from '../../access/permits.js';
import { BrokerError } from '../../errors.js';
import { routeAccess } from '../access.js';
import { requestContext } from '../client-ip.js';
import { CountsSchema, problemResponses, TASK_ID, WorkloadId } from '../schemas.js';

export const revokeTaskRoute = createRoute({
  method: 'post',
  path: '/v1/tasks/{task_id}/revoke',
  tags: ['tasks'],
  summary: 'End a task: revoke all its leases',
  description: 'A workload ends its own task; a revoker names the workload with `?workload=`.',
  ...routeAccess('task.end'),
  request: {
    params: z.object({
      task_id: z
        .string()
        .regex(TASK_ID)
        .openapi({ param: { name: 'task_id', in: 'path' } }),
    }),
    query: z.object({ workload: WorkloadId.optional() }),
  },
  responses: {
    200: {
      description: 'Counts of the task’s leases',
      content: {
        'application/json': {
          schema: CountsSchema.extend({ task: z.string(), workload: z.string() }),
        },
      },
    },
    ...problemResponses(401, 403, 404, 422, 503),
  },
});

export function registerRevokeTask(app: OpenAPIHono): void {
  app.openapi(revokeTaskRoute, async (c) => {
    const principal = c.get('principal');
    // Whose task it is: the workload's own unless it names another (the broker then answers
    // 404 unless the caller may end that workload's tasks); an operator must name one.
    const workload = c.req.valid('query').workload ?? workloadInView(principal, undefined);
    if (workload === undefined)
      throw new BrokerError('invalid_request', 'operators must name the workload (?workload=)');
    const result = await c
      .get('services')
      .broker.endTask(workload, c.req.valid('param').task_id, principal, requestContext(c));
    return c.json(result, 200);
  });
}
