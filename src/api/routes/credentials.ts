import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { routeAccess } from '../access.js';
import { requestContext } from '../client-ip.js';
import { CredentialRequestSchema, IssuedSchema, problemResponses, taskOf } from '../schemas.js';
import { ApprovalPendingSchema } from './approval-schema.js';

export const issueCredentialRoute = createRoute({
  method: 'post',
  path: '/v1/credentials',
  tags: ['credentials'],
  summary: 'Get a task-bound, short-lived credential',
  ...routeAccess('credential.issue'),
  request: {
    body: { required: true, content: { 'application/json': { schema: CredentialRequestSchema } } },
  },
  responses: {
    201: {
      description: 'Issued; the credential is shown only here',
      content: { 'application/json': { schema: IssuedSchema } },
    },
    202: {
      description:
        'The deciding policy needs an approval: repeat the same request after `Retry-After` to collect the credential once an approver said yes',
      content: { 'application/json': { schema: ApprovalPendingSchema } },
    },
    ...problemResponses(401, 403, 404, 409, 413, 422, 429, 502, 503),
  },
});

export function registerIssueCredential(app: OpenAPIHono): void {
  app.openapi(issueCredentialRoute, async (c) => {
    const body = c.req.valid('json');
    const issued = await c.get('services').broker.issue(
      c.get('workload'),
      {
        target: body.target,
        scope: body.scope,
        ...(body.ttl === undefined ? {} : { ttl: body.ttl }),
        task: taskOf(body.task),
      },
      requestContext(c),
    );
    c.header('cache-control', 'no-store');
    c.header('pragma', 'no-cache');
    if ('approval' in issued) {
      // Waiting for an operator: repeat the same request to collect, or poll the approval.
      c.header('retry-after', String(issued.retryAfter));
      c.header('location', `/v1/approvals/${issued.approval.id}`);
      return c.json(
        {
          approval_id: issued.approval.id,
          status: 'pending' as const,
          expires_at: new Date(issued.approval.expiresAt).toISOString(),
        },
        202,
      );
    }
    const { lease, credential } = issued;
    return c.json(
      {
        lease_id: lease.id,
        target: lease.target,
        provider: lease.provider,
        workload: lease.workload,
        scope: lease.scope,
        task: lease.task,
        issued_at: new Date(lease.createdAt).toISOString(),
        expires_at: new Date(lease.expiresAt).toISOString(),
        credential,
      },
      201,
    );
  });
}
