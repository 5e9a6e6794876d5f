import type { BrokerDeps } from '../broker/deps.js';
import { BrokerError } from '../errors.js';
import { FINISHED_STATES, type Lease } from '../leases/types.js';
import { decidingPolicy } from '../policy/issuance.js';
import type { PolicyGrant } from '../policy/types.js';
import { liveChecks, requestChecks } from './checks.js';
import type { BudgetVerdict } from './types.js';

type Deps = Pick<BrokerDeps, 'budgets' | 'runtime' | 'store'>;

/** Counts a request the deciding policy would grant; throws `budget_exceeded` when spent. */
export async function admitRequest(
  deps: Deps,
  grant: PolicyGrant,
  workload: string,
  taskId: string,
): Promise<void> {
  const budgets = decidingPolicy(deps.runtime().policies, grant).budgets;
  const checks = requestChecks(budgets, { policy: grant.policy, workload, taskId });
  if (checks.length === 0) return;
  refuseUnless(await deps.budgets.admitRequest(checks, budgets?.requests?.window ?? 60_000));
}

/**
 * Holds a place for `lease` in the deciding policy's live-lease budgets. Counts come from
 * lease state: a lease that was revoked or expired is dropped the next time a full counter
 * is checked, so the count never drifts up.
 */
export async function reserveLive(deps: Deps, grant: PolicyGrant, lease: Lease): Promise<void> {
  const budgets = decidingPolicy(deps.runtime().policies, grant).budgets;
  const checks = liveChecks(budgets, {
    policy: grant.policy,
    workload: lease.workload,
    taskId: lease.task.id,
  });
  if (checks.length === 0) return;
  const verdict = await deps.budgets.reserveLive(lease.id, lease.maxExpiresAt, checks, (ids) =>
    Promise.all(
      ids.map(async (id) => {
        const held = await deps.store.get(id);
        if (held === null || FINISHED_STATES.has(held.state)) return { live: false };
        return { live: true, expiresAt: held.expiresAt };
      }),
    ),
  );
  refuseUnless(verdict);
}

function refuseUnless(verdict: BudgetVerdict): void {
  if (verdict.ok) return;
  throw new BrokerError('budget_exceeded', `the policy's ${verdict.budget} budget is spent`, {
    reasons: [{ code: verdict.budget, message: `${verdict.budget} budget is spent` }],
    retryAfter: Math.max(1, Math.ceil(verdict.retryAfterMs / 1000)),
  });
}
