import type { Minted } from '../../providers/provider.js';
import { emitApprovalEvent } from '../approvals/events.js';
import { approvalGate } from '../approvals/gate.js';
import type { Approval } from '../approvals/types.js';
import { admitRequest, reserveLive } from '../budgets/enforce.js';
import { BrokerError, mintFailure } from '../errors.js';
import type { EventInput } from '../events/types.js';
import type { WorkloadPrincipal } from '../identity/types.js';
import { safeMessage } from '../leases/revoker.js';
import type { ActivateResult, Lease } from '../leases/types.js';
import type { Caller } from '../lib/caller.js';
import { claimActorUse, dryRunEvent, MAX_EVENT_REASONS } from '../policy/issuance.js';
import type { PolicyGrant } from '../policy/types.js';
import { reviewGate } from '../workloads/review-gate.js';
import type { BrokerDeps } from './deps.js';
import { issuanceFrozen } from './incident.js';
import { emitBestEffort, sourceIpField } from './lib/events.js';
import { abandonLease, revokeUnrecorded } from './lib/issue-cleanup.js';
import type { AwaitingApproval, CredentialRequest, IssuedCredential } from './types.js';

/** How long a workload is told to wait before it repeats a request that awaits approval. */
const APPROVAL_POLL_SECONDS = 5;

/**
 * Issues a credential. The order is the invariant the whole design rests on: policy → lease
 * written `pending` → mint → handle sealed onto the lease and activated →
 * `credential.issued` written to the required sinks. Any failure after the mint revokes
 * what was minted before the error is returned.
 */
export async function issue(
  deps: BrokerDeps,
  principal: WorkloadPrincipal,
  req: CredentialRequest,
  caller: Caller,
): Promise<IssuedCredential | AwaitingApproval> {
  const { store, metrics } = deps;
  const workload = principal.workload;
  const base = issuanceEventBase(principal, caller, req);
  const deny = async (err: BrokerError, policyHash?: string): Promise<never> => {
    metrics.denied.inc({ code: err.code });
    await emitBestEffort(deps, {
      ...base,
      type: 'credential.denied',
      outcome: 'denied',
      reason: err.code,
      ...(policyHash === undefined ? {} : { policy_hash: policyHash }),
      // Bounded: a set with many candidate policies must not make one event unbounded.
      ...(err.reasons.length > 0
        ? { detail: { reasons: err.reasons.slice(0, MAX_EVENT_REASONS) } }
        : {}),
    });
    throw err;
  };

  const freeze = await store.isFrozen();
  if (freeze) return deny(issuanceFrozen(freeze));
  // Lifecycle: a workload past its review date is refused (rule in workloads/review-gate.ts).
  const overdue = await reviewGate(deps, workload, base);
  if (overdue) return deny(overdue);
  // A blocked workload is refused by `store.create` itself, atomically with the write.
  const grant = deps.runtime().policy.decide({
    workload: { id: workload.id, tier: workload.tier },
    claims: principal.identity.claims as Record<string, unknown>,
    target: req.target,
    scope: req.scope,
    ...(req.ttl === undefined ? {} : { ttlMs: req.ttl * 1000 }),
    task: req.task,
    ...(req.actor === undefined ? {} : { actor: req.actor }),
    request: {
      time: Date.now(),
      ...(caller.sourceIp === undefined ? {} : { ip: caller.sourceIp }),
    },
  });
  // What dry-run policies would have decided: recorded, never what the caller gets.
  const dryRun = dryRunEvent(base, grant);
  if (dryRun !== undefined) await emitBestEffort(deps, dryRun);
  if (!grant.allow) {
    const message = grant.reasons[0]?.message ?? 'no policy allows this request';
    return deny(new BrokerError(grant.code, message, { reasons: grant.reasons }), grant.policyHash);
  }
  try {
    await claimActorUse(deps.runtime().policy.actorUses, grant);
  } catch (err) {
    if (err instanceof BrokerError && err.code === 'policy_denied') {
      return deny(err, grant.policyHash);
    }
    throw err;
  }

  // Budgets count what the policy would grant, then a human may have to say yes first.
  let approval: Awaited<ReturnType<typeof approvalGate>>['approval'];
  try {
    await admitRequest(deps, grant, workload.id, req.task.id);
    const gate = await approvalGate(deps, principal, req, grant, caller.requestId);
    if (gate.kind === 'wait') return { approval: gate.approval, retryAfter: APPROVAL_POLL_SECONDS };
    approval = gate.approval;
  } catch (err) {
    if (err instanceof BrokerError && err.code !== 'store_unavailable') {
      return deny(err, grant.policyHash);
    }
    throw err;
  }

  let lease: Lease;
  try {
    lease = await store.create({
      workload: workload.id,
      subject: principal.identity.subject,
      issuer: principal.identity.issuer,
      target: grant.target,
      provider: grant.provider.kind,
      scope: grant.scope,
      task: taskRef(req.task),
      ...(req.actor === undefined ? {} : { actor: req.actor.subject }),
      policy: grant.policy,
      policyHash: grant.policyHash,
      ttlMs: grant.ttlMs,
      // An approver saw (and the digest binds) the lifetime: renewals may not stretch it.
      maxTtlMs: approval === undefined ? grant.maxTtlMs : grant.ttlMs,
      maxLive: workload.max_active_leases,
    });
  } catch (err) {
    if (
      err instanceof BrokerError &&
      (err.code === 'workload_blocked' || err.code === 'lease_cap_reached')
    ) {
      return deny(err, grant.policyHash);
    }
    throw err;
  }
  try {
    await reserveLive(deps, grant, lease);
  } catch (err) {
    await abandonLease(deps, lease, caller);
    if (err instanceof BrokerError && err.code !== 'store_unavailable') {
      return deny(err, grant.policyHash);
    }
    throw err;
  }

  const minted = await mint(deps, grant, lease, principal, req, caller);
  const sealed = deps.sealer().seal(lease.id, minted.handle);
  let activated: ActivateResult;
  try {
    activated = await store.activate(lease, sealed);
  } catch (err) {
    await revokeUnrecorded(deps, grant.provider, minted.handle, lease.id);
    throw err;
  }
  if (activated.outcome === 'missing') {
    await revokeUnrecorded(deps, grant.provider, minted.handle, lease.id);
    throw new BrokerError('store_unavailable', 'the lease vanished during issuance', {
      retryAfter: 2,
    });
  }
  if (activated.outcome === 'revoke') {
    await deps.revoker.revokeOne(activated.claim, caller);
    const blocked = await store.isBlocked(workload.id);
    return deny(
      new BrokerError(
        blocked ? 'workload_blocked' : 'revoked_during_issuance',
        'the credential was revoked while it was being issued',
      ),
      grant.policyHash,
    );
  }

  try {
    await deps.events.emit(
      {
        ...base,
        type: 'credential.issued',
        outcome: 'success',
        lease_id: lease.id,
        provider: lease.provider,
        scope: lease.scope,
        policy: grant.policy,
        policy_hash: grant.policyHash,
        expires_at: new Date(lease.expiresAt).toISOString(),
        ...issuedDetail(grant, approval),
      },
      { failClosed: true },
    );
  } catch (err) {
    // Fail closed: an issuance the audit trail cannot record must not stand.
    const [request] = await store.requestRevoke([lease.id], 'audit_unavailable');
    if (request?.status === 'claimed') {
      await deps.revoker.revokeOne(request.claim, caller);
    } else if (request?.status === 'revoked') {
      deps.revoker.recordInPlace([request.lease], caller);
    }
    throw err;
  }
  metrics.issued.inc({ target: lease.target, provider: lease.provider });
  if (approval !== undefined) {
    await emitApprovalEvent(deps, 'approval.used', approval, caller.requestId, {
      leaseId: lease.id,
    });
  }
  const { bearerTokenType } = grant.provider;
  return {
    lease: activated.lease,
    credential: minted.credential,
    ...(bearerTokenType === undefined ? {} : { tokenType: bearerTokenType }),
  };
}

/** The provider's mint, with the lease id, the task and the store's expiry; cleans up on failure. */
async function mint(
  deps: BrokerDeps,
  grant: PolicyGrant,
  lease: Lease,
  principal: WorkloadPrincipal,
  req: CredentialRequest,
  caller: Caller,
): Promise<Minted<unknown>> {
  const stopMint = deps.metrics.mintSeconds.startTimer({ target: lease.target });
  let minted: Minted<unknown>;
  try {
    minted = await grant.mint({
      leaseId: lease.id,
      workload: lease.workload,
      subject: principal.identity.subject,
      subjectIssuer: principal.identity.iss,
      ...(req.actor === undefined
        ? {}
        : { actor: { subject: req.actor.subject, issuer: req.actor.issuer } }),
      task: lease.task,
      expiresAt: lease.expiresAt,
      issuedAt: lease.createdAt,
    });
  } catch (err) {
    stopMint();
    // Nothing usable was returned; anything half-made is cleaned from the lease id.
    await abandonLease(deps, lease, caller);
    deps.logger.warn(
      { lease_id: lease.id, target: lease.target, err: safeMessage(err) },
      'mint failed',
    );
    throw mintFailure(lease.target, err);
  }
  stopMint();
  return minted;
}

/**
 * What `credential.issued` adds: the actor's user, and the approval it stands on with who
 * approved (the approval's own events are best effort; this record is not).
 */
function issuedDetail(grant: PolicyGrant, approval: Approval | undefined): Partial<EventInput> {
  const detail = {
    ...(grant.actorUser === undefined ? {} : { actor_user: grant.actorUser }),
    ...(approval === undefined
      ? {}
      : { approval: { id: approval.id, approved_by: approval.decidedBy ?? null } }),
  };
  return Object.keys(detail).length === 0 ? {} : { detail };
}

function issuanceEventBase(
  principal: WorkloadPrincipal,
  caller: Caller,
  req: CredentialRequest,
): Omit<EventInput, 'type' | 'outcome'> {
  return {
    request_id: caller.requestId,
    workload: principal.workload.id,
    subject: principal.identity.subject,
    issuer: principal.identity.issuer,
    target: req.target,
    task: taskRef(req.task),
    token_sha256: principal.identity.tokenHash,
    ...sourceIpField(caller),
  };
}

function taskRef(task: CredentialRequest['task']): Lease['task'] {
  return task.tool === undefined
    ? { id: task.id, intent: task.intent }
    : { id: task.id, intent: task.intent, tool: task.tool };
}
