import type { BrokerDeps } from '../broker/deps.js';
import { BrokerError } from '../errors.js';
import type { OperatorPrincipal } from '../identity/types.js';
import type { Caller } from '../lib/caller.js';
import { policyDigest } from '../policy/hash.js';
import { emitApprovalEvent } from './events.js';
import { approvalWindowMs } from './rule.js';
import type { Approval } from './types.js';

type Deps = Pick<BrokerDeps, 'approvals' | 'runtime' | 'events' | 'logger'>;

/**
 * An operator's yes or no on a pending approval, with a reason. Nobody decides on a request
 * made under their own subject or on their behalf (its actor), and nobody approves a request
 * whose deciding policy changed (or went) since it was made: a reload voids what was asked
 * under the old policy.
 */
export async function decideApproval(
  deps: Deps,
  id: string,
  decision: 'approved' | 'denied',
  reason: string,
  by: OperatorPrincipal,
  caller: Caller,
): Promise<Approval> {
  const current = await deps.approvals.get(id);
  if (current === null) throw notFound();
  // The actor is the human the workload acts for: their own request too.
  if (by.name === current.subject || by.name === current.actor) {
    throw new BrokerError(
      'approval_self',
      'an operator cannot decide on a request made under their own subject or on their behalf',
    );
  }
  const runtime = deps.runtime();
  const policy = runtime.policies.get(current.policy);
  if (
    decision === 'approved' &&
    (policy === undefined || policyDigest(policy) !== current.policyDigest)
  ) {
    throw new BrokerError(
      'approval_void',
      `policy ${current.policy} changed since the request: it must be repeated`,
    );
  }
  const window = approvalWindowMs(policy?.approval, runtime.approvals.expires_after);
  const actor = caller.actor ?? by.name;
  const result = await deps.approvals.decide(id, decision, actor, reason, window);
  switch (result.outcome) {
    case 'missing':
      throw notFound();
    case 'expired':
      await emitApprovalEvent(deps, 'approval.expired', result.approval, caller.requestId);
      throw notPending(result.approval);
    case 'not_pending':
      throw notPending(result.approval);
    case 'decided':
      await emitApprovalEvent(
        deps,
        decision === 'approved' ? 'approval.granted' : 'approval.denied',
        result.approval,
        caller.requestId,
        { actor },
      );
      return result.approval;
  }
}

function notFound(): BrokerError {
  return new BrokerError('approval_not_found', 'no such approval');
}

function notPending(approval: Approval): BrokerError {
  return new BrokerError('approval_not_pending', `approval ${approval.id} is not pending`);
}
