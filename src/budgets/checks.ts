import type { BudgetsConfig } from '../config/schema.js';
import type { BudgetCheck } from './types.js';

interface Subject {
  policy: string;
  workload: string;
  taskId: string;
}

/** The request budgets a policy sets for one request, cheapest counter first. */
export function requestChecks(budgets: BudgetsConfig | undefined, s: Subject): BudgetCheck[] {
  const limits = budgets?.requests;
  if (limits === undefined) return [];
  return checksOf('requests', limits, s);
}

/** The live-lease budgets a policy sets for one request. */
export function liveChecks(budgets: BudgetsConfig | undefined, s: Subject): BudgetCheck[] {
  const limits = budgets?.live_leases;
  if (limits === undefined) return [];
  return checksOf('live_leases', limits, s);
}

function checksOf(
  kind: 'requests' | 'live_leases',
  limits: {
    per_workload?: number | undefined;
    per_task?: number | undefined;
    per_policy?: number | undefined;
  },
  s: Subject,
): BudgetCheck[] {
  const checks: BudgetCheck[] = [];
  if (limits.per_task !== undefined) {
    checks.push({
      budget: `${kind}.per_task`,
      owner: { workload: s.workload },
      counter: `t:${s.policy}:${s.workload}:${s.taskId}`,
      limit: limits.per_task,
    });
  }
  if (limits.per_workload !== undefined) {
    checks.push({
      budget: `${kind}.per_workload`,
      owner: { workload: s.workload },
      counter: `w:${s.policy}:${s.workload}`,
      limit: limits.per_workload,
    });
  }
  if (limits.per_policy !== undefined) {
    checks.push({
      budget: `${kind}.per_policy`,
      owner: { policy: s.policy },
      counter: `p:${s.policy}`,
      limit: limits.per_policy,
    });
  }
  return checks;
}
