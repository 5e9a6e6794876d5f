import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { approvalView } from '../../approvals/view.js';
import { routeAccess } from '../access.js';
import { problemResponses } from '../schemas.js';
import { ApprovalIdParam, ApprovalSchema } from './approval-schema.js';

export const getApprovalRoute = createRoute({
  method: 'get',
  path: '/v1/approvals/{id}',
  tags: ['approvals'],
  summary: 'One approval: its status, for the workload that waits on it or an approver',
  ...routeAccess('approval.read'),
  request: { params: ApprovalIdParam },
  responses: {
    200: {
      description: 'The approval',
      content: { 'application/json': { schema: ApprovalSchema } },
    },
    ...problemResponses(401, 403, 404, 503),
  },
});

export function registerGetApproval(app: OpenAPIHono): void {
  app.openapi(getApprovalRoute, async (c) => {
    const approval = await c
      .get('services')
      .broker.getApproval(c.req.valid('param').id, c.get('principal'));
    return c.json(approvalView(approval, Date.now()), 200);
  });
}
