import { timingSafeEqual } from 'node:crypto';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { BrokerError } from '../../errors.js';

export function registerMetrics(app: OpenAPIHono): void {
  app.get('/metrics', async (c) => {
    const services = c.get('services');
    if (services.metricsToken !== undefined) {
      const given = Buffer.from(c.req.header('authorization') ?? '');
      const expected = Buffer.from(`Bearer ${services.metricsToken}`);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new BrokerError('unauthenticated', 'metrics need the metrics bearer token');
      }
    }
    const body = await services.metrics.metrics();
    return c.body(body, 200, { 'content-type': services.metrics.registry.contentType });
  });
}
