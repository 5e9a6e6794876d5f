import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { routeAccess } from '../access.js';
import { requestContext } from '../client-ip.js';
import { problemResponses } from '../schemas.js';
import { FreezeStatusSchema, freezeStatus } from './freeze-status.js';

export const freezeRoute = createRoute({
  method: 'post',
  path: '/v1/freeze',
  tags: ['incident'],
  summary: 'Emergency stop: refuse all issuance (revocation keeps working)',
  ...routeAccess('issuance.freeze'),
  request: {
    body: {
      required: true,
      content: {
        'application/json': { schema: z.object({ reason: z.string().min(1).max(256) }).strict() },
      },
    },
  },
  responses: {
    200: {
      description: 'Issuance frozen: the record now in force',
      content: { 'application/json': { schema: FreezeStatusSchema } },
    },
    ...problemResponses(401, 403, 422, 503),
  },
});

export const unfreezeRoute = createRoute({
  method: 'delete',
  path: '/v1/freeze',
  tags: ['incident'],
  summary: 'Resume issuance',
  ...routeAccess('issuance.unfreeze'),
  responses: {
    200: {
      description: 'Issuance resumed',
      content: { 'application/json': { schema: FreezeStatusSchema } },
    },
    ...problemResponses(401, 403, 503),
  },
});

export function registerFreeze(app: OpenAPIHono): void {
  app.openapi(freezeRoute, async (c) => {
    const { broker } = c.get('services');
    await broker.setFrozen(true, c.req.valid('json').reason, c.get('operator'), requestContext(c));
    return c.json(freezeStatus(await broker.issuanceFreeze()), 200);
  });
  app.openapi(unfreezeRoute, async (c) => {
    await c
      .get('services')
      .broker.setFrozen(false, 'resumed', c.get('operator'), requestContext(c));
    return c.json({ frozen: false }, 200);
  });
}
