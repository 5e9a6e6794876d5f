import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { routeAccess } from '../access.js';
import { requestContext } from '../client-ip.js';
import { CredentialRequestSchema, IssuedSchema, problemResponses, taskOf } from '../schemas.js';

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
    ...problemResponses(401, 403, 404, 409, 413, 422, 429, 502, 503),
  },
});

export function registerIssueCredential(app: OpenAPIHono): void {
  app.openapi(issueCredentialRoute, async (c) => {
    const body = c.req.valid('json');
    const { lease, credential } = await c.get('services').broker.issue(
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
