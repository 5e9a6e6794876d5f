import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { BrokerError } from '../../errors.js';
import { requireWorkloadOr } from '../auth.js';
import { requestContext } from '../client-ip.js';
import { CountsSchema, problemResponses, TASK_ID, WorkloadId } from '../schemas.js';

export const revokeTaskRoute = createRoute({
  method: 'post',
  path: '/v1/tasks/{task_id}/revoke',
  tags: ['tasks'],
  summary: 'End a task: revoke all its leases',
  description: 'A workload ends its own task; a revoker names the workload with `?workload=`.',
  security: [{ workloadJwt: [] }, { operatorJwt: [] }],
  middleware: [requireWorkloadOr('revoker')] as const,
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
    const asked = c.req.valid('query').workload;
    let workload: string;
    if (principal.kind === 'workload') {
      workload = principal.workload.id;
      if (asked !== undefined && asked !== workload)
        throw new BrokerError('not_found', 'no such task');
    } else {
      if (asked === undefined)
        throw new BrokerError('invalid_request', 'operators must name the workload (?workload=)');
      workload = asked;
    }
    const result = await c
      .get('services')
      .broker.endTask(workload, c.req.valid('param').task_id, principal, requestContext(c));
    return c.json(result, 200);
  });
}
