import type { BrokerDeps } from '../broker/deps.js';
import type { CredentialRequest } from '../broker/types.js';
import { BrokerError } from '../errors.js';
import type { WorkloadPrincipal } from '../identity/types.js';
import { decidingPolicy } from '../policy/issuance.js';
import type { PolicyGrant } from '../policy/types.js';
import { approvalDigest } from './digest.js';
import { emitApprovalEvent } from './events.js';
import { approvalWindowMs, grantNeedsApproval, ruleWebhook } from './rule.js';
import type { Approval, NewApproval } from './types.js';
import { notifyApprovers } from './webhook.js';

export type Gate = { kind: 'open'; approval?: Approval } | { kind: 'wait'; approval: Approval };

type Deps = Pick<BrokerDeps, 'approvals' | 'runtime' | 'events' | 'logger' | 'detectionHolds'>;

/**
 * Lets a grant through, or holds it for an operator. A grant of a policy whose `approval`
 * rule applies passes only by consuming an approved approval of the same digest (`open`
 * with the approval); otherwise it waits on a pending one, new or old (`wait`). A denied
 * digest is refused until its approval expires.
 */
export async function approvalGate(
  deps: Deps,
  principal: WorkloadPrincipal,
  req: CredentialRequest,
  grant: PolicyGrant,
  requestId: string,
): Promise<Gate> {
  const runtime = deps.runtime();
  const rule = decidingPolicy(runtime.policies, grant).approval;
  const workload = principal.workload;
  // A `require_approval` detection that fired for this workload holds every grant for an
  // approver until its hold ends, whatever the policy's own rule says (src/detections/).
  const held = await heldByDetection(deps, workload.id);
  if (!held && !grantNeedsApproval(rule, grant, { tier: workload.tier, tool: req.task.tool })) {
    return { kind: 'open' };
  }

  const settings = runtime.approvals;
  const request: Omit<NewApproval, 'digest'> = {
    workload: workload.id,
    subject: principal.identity.subject,
    issuer: principal.identity.issuer,
    target: grant.target,
    scope: grant.scope,
    task: {
      id: req.task.id,
      intent: req.task.intent,
      ...(req.task.tool === undefined ? {} : { tool: req.task.tool }),
    },
    ttlMs: grant.ttlMs,
    ...(req.actor === undefined ? {} : { actor: req.actor.subject, actorIssuer: req.actor.issuer }),
    ...(grant.actorUser === undefined ? {} : { actorUser: grant.actorUser }),
    policy: grant.policy,
    policyDigest: grant.policyDigest,
  };
  const found = await deps.approvals.collectOrOpen(
    { ...request, digest: approvalDigest(request) },
    approvalWindowMs(rule, settings.expires_after),
    { maxPending: settings.max_pending, maxPendingPerWorkload: settings.max_pending_per_workload },
  );
  switch (found.outcome) {
    case 'used':
      return { kind: 'open', approval: found.approval };
    case 'pending':
      return { kind: 'wait', approval: found.approval };
    case 'denied':
      throw new BrokerError(
        'approval_denied',
        `approval ${found.approval.id} was denied for this request`,
        {
          reasons: [{ code: 'approval_denied', message: found.approval.id, policy: grant.policy }],
        },
      );
    case 'full':
      throw new BrokerError('approvals_full', 'too many approvals are waiting for a decision', {
        retryAfter: 30,
      });
    case 'created': {
      if (found.expired)
        await emitApprovalEvent(deps, 'approval.expired', found.expired, requestId);
      await emitApprovalEvent(deps, 'approval.requested', found.approval, requestId, {
        failClosed: true,
      });
      const urls = [settings.webhook, ruleWebhook(rule)].filter(
        (u): u is string => u !== undefined,
      );
      if (urls.length > 0) {
        notifyApprovers(urls, found.approval, {
          timeoutMs: settings.webhook_timeout,
          logger: deps.logger,
        });
      }
      return { kind: 'wait', approval: found.approval };
    }
  }
}

/** Whether a detection holds the workload; a hold store that cannot answer holds (fail closed). */
async function heldByDetection(deps: Deps, workload: string): Promise<boolean> {
  if (deps.detectionHolds === undefined) return false;
  try {
    return (await deps.detectionHolds.held(workload)) !== undefined;
  } catch {
    return true;
  }
}
