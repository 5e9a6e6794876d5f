import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { approvalView } from '../../approvals/view.js';
import { routeAccess } from '../access.js';
import { requestContext } from '../client-ip.js';
import { problemResponses } from '../schemas.js';
import { ApprovalIdParam, ApprovalSchema } from './approval-schema.js';

const DecisionBody = z.object({ reason: z.string().trim().min(1).max(500) }).strict();

function decisionRoute(decision: 'approve' | 'deny') {
  return createRoute({
    method: 'post',
    path: `/v1/approvals/{id}/${decision}`,
    tags: ['approvals'],
    summary:
      decision === 'approve'
        ? 'Approve a pending request (never one made under your own subject)'
        : 'Deny a pending request',
    ...routeAccess(decision === 'approve' ? 'approval.approve' : 'approval.deny'),
    request: {
      params: ApprovalIdParam,
      body: { required: true, content: { 'application/json': { schema: DecisionBody } } },
    },
    responses: {
      200: {
        description: decision === 'approve' ? 'Approved' : 'Denied',
        content: { 'application/json': { schema: ApprovalSchema } },
      },
      ...problemResponses(401, 403, 404, 409, 422, 503),
    },
  });
}

export const approveRoute = decisionRoute('approve');
export const denyRoute = decisionRoute('deny');

export function registerDecideApproval(app: OpenAPIHono): void {
  for (const [route, decision] of [
    [approveRoute, 'approved'],
    [denyRoute, 'denied'],
  ] as const) {
    app.openapi(route, async (c) => {
      const approval = await c
        .get('services')
        .broker.decideApproval(
          c.req.valid('param').id,
          decision,
          c.req.valid('json').reason,
          c.get('operator'),
          requestContext(c),
        );
      return c.json(approvalView(approval, Date.now()), 200);
    });
  }
}
