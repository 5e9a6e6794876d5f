import type { TaskRef } from '../../providers/provider.js';
import { type Approval, type ApprovalStatus, effectiveStatus } from './types.js';

export interface ApprovalView {
  approval_id: string;
  status: ApprovalStatus;
  workload: string;
  subject: string;
  target: string;
  scope: unknown;
  task: TaskRef;
  ttl: number;
  actor?: string;
  policy: string;
  policy_digest: string;
  digest: string;
  requested_at: string;
  expires_at: string;
  decided_at?: string;
  decided_by?: string;
  reason?: string;
  used_at?: string;
}

/** An approval as the API, the webhook and the CLI show it: no secret, no token. */
export function approvalView(approval: Approval, now: number): ApprovalView {
  return {
    approval_id: approval.id,
    status: effectiveStatus(approval, now),
    workload: approval.workload,
    subject: approval.subject,
    target: approval.target,
    scope: approval.scope,
    task: approval.task,
    ttl: Math.round(approval.ttlMs / 1000),
    ...(approval.actor === undefined ? {} : { actor: approval.actor }),
    policy: approval.policy,
    policy_digest: approval.policyDigest,
    digest: approval.digest,
    requested_at: new Date(approval.requestedAt).toISOString(),
    expires_at: new Date(approval.expiresAt).toISOString(),
    ...(approval.decidedAt === undefined
      ? {}
      : { decided_at: new Date(approval.decidedAt).toISOString() }),
    ...(approval.decidedBy === undefined ? {} : { decided_by: approval.decidedBy }),
    ...(approval.reason === undefined ? {} : { reason: approval.reason }),
    ...(approval.usedAt === undefined ? {} : { used_at: new Date(approval.usedAt).toISOString() }),
  };
}
