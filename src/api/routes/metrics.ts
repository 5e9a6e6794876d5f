import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { authorize, documentRoute, routeAccess } from '../access.js';
import { problemResponses } from '../schemas.js';

export const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['health'],
  summary: 'Prometheus metrics (behind `server.metrics_token` when it is set)',
  ...routeAccess('metrics.read'),
  responses: {
    200: {
      description: 'Prometheus text exposition format',
      content: { 'text/plain': { schema: z.string() } },
    },
    ...problemResponses(401),
  },
});

export function registerMetrics(app: OpenAPIHono): void {
  // Answered as plain text rather than a typed JSON body, so handled by hand.
  documentRoute(app, metricsRoute);
  app.get('/metrics', authorize('metrics.read'), async (c) => {
    const { metrics } = c.get('services');
    return c.body(await metrics.metrics(), 200, { 'content-type': metrics.registry.contentType });
  });
}
