import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { routeAccess } from '../access.js';
import { problemResponses } from '../schemas.js';

const StatusSchema = z.object({ status: z.enum(['ready', 'not_ready']) });
const CheckSchema = z.object({ ok: z.boolean(), detail: z.string().optional() });
const ReportSchema = StatusSchema.extend({ checks: z.record(z.string(), CheckSchema) });

export const healthzRoute = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['health'],
  summary: 'Liveness',
  ...routeAccess('health.live'),
  responses: {
    200: {
      description: 'Alive',
      content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } },
    },
  },
});

export const readyzRoute = createRoute({
  method: 'get',
  path: '/readyz',
  tags: ['health'],
  summary: 'Readiness: the lease store answers (no details: they are for operators)',
  ...routeAccess('health.ready'),
  responses: {
    200: { description: 'Ready', content: { 'application/json': { schema: StatusSchema } } },
    503: { description: 'Not ready', content: { 'application/json': { schema: StatusSchema } } },
  },
});

export const readinessRoute = createRoute({
  method: 'get',
  path: '/v1/readiness',
  tags: ['health'],
  summary: 'Readiness with every check: the lease store and each target (answers cached briefly)',
  ...routeAccess('health.detail'),
  responses: {
    200: { description: 'Ready', content: { 'application/json': { schema: ReportSchema } } },
    503: { description: 'Not ready', content: { 'application/json': { schema: ReportSchema } } },
    ...problemResponses(401, 403),
  },
});

export function registerHealth(app: OpenAPIHono): void {
  app.openapi(healthzRoute, (c) => c.json({ status: 'ok' as const }, 200));
  app.openapi(readyzRoute, async (c) => {
    // Anonymous: a bare status. Key ids, account names and database errors are for operators.
    const ok = await c.get('services').readiness.ready();
    c.header('cache-control', 'no-store');
    return ok
      ? c.json({ status: 'ready' as const }, 200)
      : c.json({ status: 'not_ready' as const }, 503);
  });
  app.openapi(readinessRoute, async (c) => {
    const { ok, checks } = await c.get('services').readiness.report();
    c.header('cache-control', 'no-store');
    return ok
      ? c.json({ status: 'ready' as const, checks }, 200)
      : c.json({ status: 'not_ready' as const, checks }, 503);
  });
}
