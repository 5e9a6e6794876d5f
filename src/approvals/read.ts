import { permits } from '../access/permits.js';
import type { BrokerDeps } from '../broker/deps.js';
import { BrokerError } from '../errors.js';
import type { Principal } from '../identity/types.js';
import { type Approval, type ApprovalFilter, effectiveStatus } from './types.js';

type Deps = Pick<BrokerDeps, 'approvals'>;

/** One approval, to an approver or to the workload that asked (anyone else: not found). */
export async function getApproval(deps: Deps, id: string, by: Principal): Promise<Approval> {
  const approval = await deps.approvals.get(id);
  if (
    approval === null ||
    !permits(by, 'approval.read', {
      owner: approval.workload,
      subject: approval.subject,
      issuer: approval.issuer,
    })
  ) {
    throw new BrokerError('approval_not_found', 'no such approval');
  }
  return { ...approval, status: effectiveStatus(approval, Date.now()) };
}

/** Approvals newest first; a workload sees only its own, whatever filter it asked for. */
export async function listApprovals(
  deps: Deps,
  by: Principal,
  filter: ApprovalFilter,
  limit: number,
): Promise<Approval[]> {
  const scoped = by.kind === 'workload' ? { ...filter, workload: by.workload.id } : filter;
  const listed = await deps.approvals.list(scoped, limit);
  return listed.filter((a) =>
    permits(by, 'approval.list', { owner: a.workload, subject: a.subject, issuer: a.issuer }),
  );
}
