import type { BrokerDeps } from '../broker/deps.js';
import { emitBestEffort } from '../broker/lib/events.js';
import type { EventInput, EventType } from '../events/types.js';
import type { Approval } from './types.js';

/**
 * An approval step as an event: the request it covers (no secret: scope and task as asked),
 * its id and digest. A request waits on the audit trail (`failClosed`): an approval nobody
 * can see must not be opened.
 */
export async function emitApprovalEvent(
  deps: Pick<BrokerDeps, 'events' | 'logger'>,
  type: Extract<EventType, `approval.${string}`>,
  approval: Approval,
  requestId: string | undefined,
  options: { failClosed?: boolean; actor?: string; leaseId?: string } = {},
): Promise<void> {
  const event: EventInput = {
    type,
    outcome: type === 'approval.denied' ? 'denied' : 'success',
    ...(requestId === undefined ? {} : { request_id: requestId }),
    workload: approval.workload,
    subject: approval.subject,
    issuer: approval.issuer,
    target: approval.target,
    scope: approval.scope,
    task: approval.task,
    policy: approval.policy,
    expires_at: new Date(approval.expiresAt).toISOString(),
    ...(options.actor === undefined ? {} : { actor: options.actor }),
    ...(options.leaseId === undefined ? {} : { lease_id: options.leaseId }),
    ...(approval.reason === undefined || type === 'approval.requested'
      ? {}
      : { reason: approval.reason }),
    detail: {
      approval_id: approval.id,
      digest: approval.digest,
      policy_digest: approval.policyDigest,
    },
  };
  if (options.failClosed) {
    await deps.events.emit(event, { failClosed: true });
  } else {
    await emitBestEffort(deps, event);
  }
}
