import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { APPROVAL_STATUSES } from '../../approvals/types.js';
import { approvalView } from '../../approvals/view.js';
import { routeAccess } from '../access.js';
import { problemResponses, WorkloadId } from '../schemas.js';
import { ApprovalSchema } from './approval-schema.js';

export const listApprovalsRoute = createRoute({
  method: 'get',
  path: '/v1/approvals',
  tags: ['approvals'],
  summary: 'List approvals, newest first (a workload sees only its own)',
  ...routeAccess('approval.list'),
  request: {
    query: z.object({
      status: z.enum(APPROVAL_STATUSES).optional(),
      workload: WorkloadId.optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
  },
  responses: {
    200: {
      description: 'Approvals',
      content: { 'application/json': { schema: z.object({ approvals: z.array(ApprovalSchema) }) } },
    },
    ...problemResponses(401, 403, 422, 503),
  },
});

export function registerListApprovals(app: OpenAPIHono): void {
  app.openapi(listApprovalsRoute, async (c) => {
    const q = c.req.valid('query');
    const listed = await c.get('services').broker.listApprovals(
      c.get('principal'),
      {
        ...(q.status === undefined ? {} : { status: q.status }),
        ...(q.workload === undefined ? {} : { workload: q.workload }),
      },
      q.limit,
    );
    const now = Date.now();
    return c.json({ approvals: listed.map((a) => approvalView(a, now)) }, 200);
  });
}
