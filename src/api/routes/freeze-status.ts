import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { IssuanceFreeze } from '../../leases/types.js';
import { routeAccess } from '../access.js';
import { problemResponses } from '../schemas.js';

export const FreezeStatusSchema = z
  .object({
    frozen: z.boolean(),
    by: z.string().optional().openapi({ description: 'The operator who froze issuance' }),
    at: z.string().optional().openapi({ description: 'When issuance was frozen (RFC 3339)' }),
    reason: z.string().optional(),
  })
  .openapi('FreezeStatus');
export type FreezeStatus = z.infer<typeof FreezeStatusSchema>;

/** The wire form of a freeze record; fields an unreadable record lacks stay out. */
export function freezeStatus(freeze: Partial<IssuanceFreeze> | null): FreezeStatus {
  if (freeze === null) return { frozen: false };
  return {
    frozen: true,
    ...(freeze.by === undefined ? {} : { by: freeze.by }),
    ...(freeze.at === undefined ? {} : { at: new Date(freeze.at).toISOString() }),
    ...(freeze.reason === undefined ? {} : { reason: freeze.reason }),
  };
}

export const freezeStatusRoute = createRoute({
  method: 'get',
  path: '/v1/freeze',
  tags: ['incident'],
  summary: 'Whether issuance is frozen, and by whom, since when and why',
  ...routeAccess('issuance.status'),
  responses: {
    200: {
      description: 'The freeze in force, if any',
      content: { 'application/json': { schema: FreezeStatusSchema } },
    },
    ...problemResponses(401, 403, 503),
  },
});

export function registerFreezeStatus(app: OpenAPIHono): void {
  app.openapi(freezeStatusRoute, async (c) =>
    c.json(freezeStatus(await c.get('services').broker.issuanceFreeze()), 200),
  );
}
