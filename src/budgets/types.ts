/** The budgets a policy may set, by the name a refusal gives (`reasons[0].code`). */
export const BUDGET_NAMES = [
  'requests.per_workload',
  'requests.per_task',
  'requests.per_policy',
  'live_leases.per_workload',
  'live_leases.per_task',
  'live_leases.per_policy',
] as const;
export type BudgetName = (typeof BUDGET_NAMES)[number];

/** One limit on one counter: the store key's identity part and how much it may hold. */
export interface BudgetCheck {
  budget: BudgetName;
  /** Whose budget it is: the workload for per-workload and per-task ones, else the policy. */
  owner: { workload: string } | { policy: string };
  /** Identity of the counter below its owner (policy, workload, task). */
  counter: string;
  limit: number;
}

export type BudgetVerdict = { ok: true } | { ok: false; budget: BudgetName; retryAfterMs: number };

/** Which of these leases are unfinished, and until when each can be live (ms). */
export type StillLive = (
  ids: readonly string[],
) => Promise<{ live: boolean; expiresAt?: number }[]>;

/**
 * Budgets shared by every replica. Requests are counted in fixed windows that start at a
 * counter's first admitted request; live leases are the lease ids a counter holds, scored by
 * the latest moment each can still be live, with finished ones dropped when a counter is full.
 */
export interface BudgetStore {
  /**
   * Admits one request against every check (each counted atomically on its own), or refuses
   * without counting it anywhere. `windowMs` is the checks' window.
   */
  admitRequest(checks: readonly BudgetCheck[], windowMs: number): Promise<BudgetVerdict>;
  /**
   * Holds `leaseId` in every check's counter until `liveUntil` (ms), or refuses and holds it
   * nowhere. `stillLive` tells which of a full counter's leases are unfinished.
   */
  reserveLive(
    leaseId: string,
    liveUntil: number,
    checks: readonly BudgetCheck[],
    stillLive: StillLive,
  ): Promise<BudgetVerdict>;
}
