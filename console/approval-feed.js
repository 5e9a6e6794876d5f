/**
 * Approvals as the live feed tells of them, for operators who may read the feed but not
 * `GET /v1/approvals` (viewers): each `approval.*` event carries the request it covers, so a
 * viewer sees what waits and how it ended, from the moment the console connected.
 */

const STATUS_AFTER = {
  'approval.requested': 'pending',
  'approval.granted': 'approved',
  'approval.denied': 'denied',
  'approval.expired': 'expired',
  'approval.used': 'used',
};

/** How many approvals the feed remembers; the oldest go first. */
const KEPT = 200;

export function createApprovalFeed() {
  const approvals = new Map();
  return {
    /** Folds one event in; returns true when it was about an approval. */
    take(type, event) {
      const status = STATUS_AFTER[type];
      const id = event?.detail?.approval_id;
      if (status === undefined || typeof id !== 'string') return false;
      const known = approvals.get(id);
      const approval = known ?? {
        approval_id: id,
        workload: event.workload,
        subject: event.subject,
        target: event.target,
        scope: event.scope,
        task: event.task ?? {},
        policy: event.policy,
        requested_at: event.time,
      };
      approval.status = status;
      if (event.expires_at !== undefined) approval.expires_at = event.expires_at;
      if (status === 'approved' || status === 'denied') {
        approval.decided_at = event.time;
        approval.decided_by = event.actor;
        approval.reason = event.reason;
      }
      if (known === undefined) {
        approvals.set(id, approval);
        if (approvals.size > KEPT) approvals.delete(approvals.keys().next().value);
      }
      return true;
    },
    /** Newest first. */
    list() {
      return [...approvals.values()].reverse();
    },
  };
}
