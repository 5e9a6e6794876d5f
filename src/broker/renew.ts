import { type Provider, ProviderError } from '../../providers/provider.js';
import { BrokerError, mintFailure } from '../errors.js';
import type { WorkloadPrincipal } from '../identity/types.js';
import { leaseEventFields } from '../leases/event-fields.js';
import { safeMessage } from '../leases/revoker.js';
import type { Lease } from '../leases/types.js';
import type { Caller } from '../lib/caller.js';
import { reviewGate } from '../workloads/review-gate.js';
import type { BrokerDeps } from './deps.js';
import { issuanceFrozen } from './incident.js';
import { emitBestEffort, sourceIpField } from './lib/events.js';
import { permittedLease } from './lib/permitted-lease.js';
import { renewalEventFields } from './lib/renewal-event.js';

/**
 * Extends a lease within its policy's `max_ttl` (counted from issuance) where the provider
 * can: `jwt` reissues the token, PostgreSQL moves `VALID UNTIL`, MySQL and Redis ACL users
 * carry no expiry of their own so only the broker's deadline moves. The provider renews
 * first and the store extends after, so a failure between them leaves the shorter deadline.
 */
export async function renewLease(
  deps: BrokerDeps,
  id: string,
  by: WorkloadPrincipal,
  ttlSeconds: number | undefined,
  caller: Caller,
): Promise<{ lease: Lease; credential?: unknown }> {
  const lease = await permittedLease(deps.store, id, by, 'lease.renew');
  if (lease.state !== 'active')
    throw new BrokerError('lease_not_active', `lease ${id} is ${lease.state}`);
  const provider = deps.runtime().providers.get(lease.target);
  if (!provider?.renew) {
    throw new BrokerError(
      'not_renewable',
      `credentials of target ${lease.target} cannot be renewed`,
    );
  }
  const ttlMs = ttlSeconds === undefined ? lease.expiresAt - lease.createdAt : ttlSeconds * 1000;
  const maxTtlMs = await decideRenewal(deps, lease, by, caller);
  const now = await deps.store.now();
  // The bound is the stricter of the grant at issuance and the policy in force now.
  const expiresAt = Math.min(now + ttlMs, lease.maxExpiresAt, lease.createdAt + maxTtlMs);
  if (expiresAt <= lease.expiresAt) {
    // In seconds, as the request's `ttl` is.
    const lifetime = Math.floor(
      (Math.min(lease.maxExpiresAt, lease.createdAt + maxTtlMs) - lease.createdAt) / 1000,
    );
    throw new BrokerError(
      'ttl_out_of_range',
      `the lease already reaches its maximum lifetime (max_ttl: ${lifetime} seconds from issuance)`,
    );
  }
  const handle = lease.handle === undefined ? {} : deps.sealer().open(lease.id, lease.handle);
  let renewed: Awaited<ReturnType<NonNullable<Provider['renew']>>>;
  try {
    renewed = await provider.renew(handle, {
      leaseId: lease.id,
      workload: lease.workload,
      subject: lease.subject,
      // As stored: a provider that builds anything from it parses it first.
      scope: lease.scope,
      task: lease.task,
      expiresAt,
    });
  } catch (err) {
    if (err instanceof ProviderError && err.code === 'not_renewable') {
      throw new BrokerError(
        'not_renewable',
        `this credential of ${lease.target} cannot be renewed`,
      );
    }
    deps.logger.warn({ lease_id: id, err: safeMessage(err) }, 'renewal failed');
    throw mintFailure(lease.target, err, 'renew');
  }
  const sealed =
    renewed.handle === undefined ? undefined : deps.sealer().seal(lease.id, renewed.handle);
  const extended = await deps.store.extend(lease.id, expiresAt, sealed);
  await emitBestEffort(deps, {
    type: 'lease.renewed',
    outcome: 'success',
    request_id: caller.requestId,
    ...leaseEventFields(extended),
    expires_at: new Date(extended.expiresAt).toISOString(),
    ...sourceIpField(caller),
  });
  return renewed.credential === undefined
    ? { lease: extended }
    : { lease: extended, credential: renewed.credential };
}

/**
 * A renewal is a decision: the policy in force now is asked again, with what the lease holds
 * (target, scope, task) and the renewing identity (its workload's current tier, its claims,
 * the request's address), and refuses with the same reasons as issuance. A reload that took
 * the grant away, or lowered the workload's tier, ends renewals too. The actor assertion is
 * not presented again: a lease issued with one satisfies `require_actor` by its subject, but
 * a condition on the actor's claims cannot be re-proven and denies the renewal. Frozen
 * issuance and a blocked workload refuse renewals as they refuse issuance; a workload held by a
 * `require_approval` detection is refused renewals (`policy_denied`) while the hold stands.
 * Returns the deciding policy's `max_ttl`.
 */
async function decideRenewal(
  deps: BrokerDeps,
  lease: Lease,
  by: WorkloadPrincipal,
  caller: Caller,
): Promise<number> {
  const deny = async (err: BrokerError, policyHash?: string): Promise<never> => {
    deps.metrics.denied.inc({ code: err.code });
    await emitBestEffort(deps, {
      type: 'credential.denied',
      outcome: 'denied',
      reason: err.code,
      ...renewalEventFields(lease, by, caller),
      ...(policyHash === undefined ? {} : { policy_hash: policyHash }),
      detail: { renewal: true, ...(err.reasons.length > 0 ? { reasons: err.reasons } : {}) },
    });
    throw err;
  };
  const freeze = await deps.store.isFrozen();
  if (freeze) return deny(issuanceFrozen(freeze));
  if (await deps.store.isBlocked(lease.workload)) {
    return deny(new BrokerError('workload_blocked', `workload ${lease.workload} is blocked`));
  }
  // A `require_approval` detection's hold: a renewal cannot wait for an approver, so it is
  // refused while the hold stands (and when the hold store cannot answer: fail closed).
  if (await heldByDetection(deps, lease.workload)) {
    return deny(
      new BrokerError(
        'policy_denied',
        `workload ${lease.workload} is held by a detection: its leases are not renewed while the hold stands; a new credential waits for an approver`,
      ),
    );
  }
  // A renewal extends a credential: a workload past its review date is refused it too.
  const overdue = await reviewGate(deps, by.workload, renewalEventFields(lease, by, caller));
  if (overdue) return deny(overdue);
  const decision = deps.runtime().policy.decide({
    workload: { id: by.workload.id, tier: by.workload.tier },
    claims: by.identity.claims as Record<string, unknown>,
    target: lease.target,
    scope: lease.scope,
    // No requested TTL: a renewal stops at max_ttl silently instead of being refused.
    task: lease.task,
    ...(lease.actor === undefined
      ? {}
      : { actor: { subject: lease.actor, issuer: '', claims: {} } }),
    request: {
      time: Date.now(),
      ...(caller.sourceIp === undefined ? {} : { ip: caller.sourceIp }),
    },
  });
  if (!decision.allow) {
    const message = decision.reasons[0]?.message ?? 'no policy allows this renewal';
    return deny(
      new BrokerError(decision.code, message, { reasons: decision.reasons }),
      decision.policyHash,
    );
  }
  return decision.maxTtlMs;
}

async function heldByDetection(deps: BrokerDeps, workload: string): Promise<boolean> {
  if (deps.detectionHolds === undefined) return false;
  try {
    return (await deps.detectionHolds.held(workload)) !== undefined;
  } catch {
    return true;
  }
}
