import type { TaskRef } from '../../providers/provider.js';

export const APPROVAL_STATUSES = ['pending', 'approved', 'denied', 'expired', 'used'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

export const APPROVAL_PREFIX = 'apr_';

/**
 * One request waiting for (or given) an operator's decision. Holds no secret: the scope and
 * task as the workload asked for them, the policy that would grant, and who decided.
 */
export interface Approval {
  id: string;
  status: ApprovalStatus;
  /** `approvalDigest` of the exact request: only a request with the same digest collects. */
  digest: string;
  workload: string;
  subject: string;
  issuer: string;
  target: string;
  scope: unknown;
  task: TaskRef;
  /** Requested lease lifetime (ms). */
  ttlMs: number;
  actor?: string;
  /** The actor assertion's issuer: the same subject from another issuer is someone else. */
  actorIssuer?: string;
  /** The user the actor assertion names (`require_actor.user_claim`), when the policy asks. */
  actorUser?: string;
  policy: string;
  policyDigest: string;
  /** ms since the epoch (the store's clock). */
  requestedAt: number;
  /** Until then a pending approval may be decided, an approved one collected. */
  expiresAt: number;
  decidedAt?: number;
  decidedBy?: string;
  reason?: string;
  usedAt?: number;
}

export type NewApproval = Omit<
  Approval,
  'id' | 'status' | 'requestedAt' | 'expiresAt' | 'decidedAt' | 'decidedBy' | 'reason' | 'usedAt'
>;

/**
 * What repeating a request finds: the approval it collects (`used`, now consumed), one still
 * waiting or refused, or a new pending one (with the expired one it replaced, if any).
 */
export type Collection =
  | { outcome: 'used'; approval: Approval }
  | { outcome: 'pending'; approval: Approval }
  | { outcome: 'denied'; approval: Approval }
  | { outcome: 'created'; approval: Approval; expired?: Approval }
  | { outcome: 'full' };

export type Decided =
  | { outcome: 'decided'; approval: Approval }
  | { outcome: 'not_pending'; approval: Approval }
  | { outcome: 'expired'; approval: Approval }
  | { outcome: 'missing' };

export interface ApprovalFilter {
  status?: ApprovalStatus;
  workload?: string;
}

/** How long a finished approval stays listed after its window closed (ms). */
export const APPROVAL_RETAIN_MS = 3_600_000;

/**
 * Approvals shared by every replica. Every transition is atomic in the store: two replicas
 * collecting the same approval hand out one credential, and a decision races no collection.
 */
export interface ApprovalStore {
  /**
   * Finds the approval of `request.digest` and consumes it when approved, or opens a new
   * pending one (`ttlMs` to decide) when there is none or the last one expired.
   */
  collectOrOpen(
    request: NewApproval,
    ttlMs: number,
    bounds: { maxPending: number; maxPendingPerWorkload: number },
  ): Promise<Collection>;
  /** `approved` (collectable for `ttlMs` from now) or `denied`, only while pending. */
  decide(
    id: string,
    decision: 'approved' | 'denied',
    by: string,
    reason: string,
    ttlMs: number,
  ): Promise<Decided>;
  get(id: string): Promise<Approval | null>;
  /** Newest first, at most `limit`. */
  list(filter: ApprovalFilter, limit: number): Promise<Approval[]>;
  close?(): Promise<void>;
}

/** Past its `expiresAt`, a pending or approved approval reads as expired. */
export function effectiveStatus(approval: Approval, now: number): ApprovalStatus {
  if (
    (approval.status === 'pending' || approval.status === 'approved') &&
    now >= approval.expiresAt
  )
    return 'expired';
  return approval.status;
}
