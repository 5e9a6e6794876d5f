import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { routeAccess } from '../access.js';
import { requestContext } from '../client-ip.js';
import { CountsSchema, problemResponses, WorkloadId } from '../schemas.js';

const SelectorSchema = z
  .object({
    target: z.string().max(64).optional(),
    issuer: z.string().max(64).optional(),
    subject: z
      .string()
      .max(512)
      .optional()
      .openapi({ description: 'Glob over the workload subject (`*`, `**`)' }),
    workload: WorkloadId.optional(),
    reason: z.string().min(1).max(256),
  })
  .strict()
  .refine((s) => s.target ?? s.issuer ?? s.subject ?? s.workload, {
    message: 'name at least one of target, issuer, subject, workload',
  });

export const revokeSelectorRoute = createRoute({
  method: 'post',
  path: '/v1/revoke',
  tags: ['incident'],
  summary: 'Revoke every live lease matching a selector (bulk incident response)',
  ...routeAccess('revoke.selector'),
  request: {
    body: { required: true, content: { 'application/json': { schema: SelectorSchema } } },
  },
  responses: {
    200: {
      description: 'Counts at the deadline; the reaper finishes what is still revoking',
      content: {
        'application/json': { schema: CountsSchema.extend({ matched: z.number().int() }) },
      },
    },
    ...problemResponses(401, 403, 422, 503),
  },
});

export function registerRevokeSelector(app: OpenAPIHono): void {
  app.openapi(revokeSelectorRoute, async (c) => {
    const { reason, ...selector } = c.req.valid('json');
    const clean = Object.fromEntries(
      Object.entries(selector).filter(([, v]) => v !== undefined),
    ) as Record<'target' | 'issuer' | 'subject' | 'workload', string>;
    const result = await c
      .get('services')
      .broker.revokeBySelector(clean, reason, c.get('operator'), requestContext(c));
    return c.json(result, 200);
  });
}
