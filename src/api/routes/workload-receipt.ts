import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { VERIFICATION_STATUSES } from '../../revocation/receipt.js';
import { routeAccess } from '../access.js';
import { problemResponses, WorkloadIdParam } from '../schemas.js';

const Position = { instance: z.string(), seq: z.number().int() };
const Counted = {
  verified: z.number().int(),
  unverified: z.number().int(),
  unverifiable: z.number().int(),
};

export const RevocationReceiptSchema = z
  .object({
    workload: z.string(),
    at: z.string().openapi({ description: 'When the kill switch started (ISO 8601)' }),
    by: z.string().optional().openapi({ description: 'The operator who pulled it' }),
    reason: z.string(),
    blocked: z.boolean(),
    counts: z
      .object({ revoked: z.number().int(), failed: z.number().int(), pending: z.number().int() })
      .optional()
      .openapi({ description: 'What the kill switch answered; absent until it has' }),
    verification: z.object({
      ...Counted,
      targets: z.array(z.object({ target: z.string(), provider: z.string(), ...Counted })),
    }),
    events: z.object({
      workload_revoked: z
        .object(Position)
        .optional()
        .openapi({ description: 'Chain position of the `workload.revoked` event' }),
      verifications: z.array(
        z.object({
          ...Position,
          lease_id: z.string(),
          target: z.string(),
          status: z.enum(VERIFICATION_STATUSES),
        }),
      ),
      verifications_omitted: z.number().int(),
    }),
  })
  .openapi('RevocationReceipt');

export const workloadReceiptRoute = createRoute({
  method: 'get',
  path: '/v1/workloads/{id}/revocation-receipt',
  tags: ['workloads'],
  summary: 'Receipt of the workload’s last kill switch, with each target’s proof of revocation',
  description:
    'Who pulled the kill switch, when and why; what it answered; how many of its revocations each target verified (the credential is gone), left unverified (it may still work) or cannot verify; and the chain position (`instance`, `seq`) of `workload.revoked` and of the first 200 verification events. Kept for `leases.retention`.',
  ...routeAccess('workload.receipt'),
  request: { params: WorkloadIdParam },
  responses: {
    200: {
      description: 'The receipt',
      content: { 'application/json': { schema: RevocationReceiptSchema } },
    },
    ...problemResponses(401, 403, 404, 422, 503),
  },
});

export function registerWorkloadReceipt(app: OpenAPIHono): void {
  app.openapi(workloadReceiptRoute, async (c) => {
    const receipt = await c.get('services').broker.revocationReceipt(c.req.valid('param').id);
    return c.json(receipt, 200);
  });
}
