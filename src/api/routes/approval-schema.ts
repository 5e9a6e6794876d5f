import { z } from '@hono/zod-openapi';
import { APPROVAL_STATUSES } from '../../approvals/types.js';
import { prefixedIdParam, TaskViewSchema } from '../schemas.js';

export const ApprovalIdParam = prefixedIdParam('apr_f801hx3k9q2m7v8c4d6f0g1h2j3k');

export const ApprovalSchema = z
  .object({
    approval_id: z.string(),
    status: z.enum(APPROVAL_STATUSES),
    workload: z.string(),
    subject: z.string(),
    target: z.string(),
    scope: z.unknown(),
    task: TaskViewSchema,
    ttl: z.number().int(),
    actor: z.string().optional(),
    policy: z.string(),
    policy_digest: z.string(),
    digest: z.string(),
    requested_at: z.string(),
    expires_at: z.string(),
    decided_at: z.string().optional(),
    decided_by: z.string().optional(),
    reason: z.string().optional(),
    used_at: z.string().optional(),
  })
  .openapi('Approval');

/** The 202 of a request that waits for an operator. */
export const ApprovalPendingSchema = z
  .object({
    approval_id: z.string(),
    status: z.literal('pending'),
    expires_at: z.string(),
  })
  .openapi('ApprovalPending');
