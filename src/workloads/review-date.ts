import type { WorkloadConfig } from '../config/schema.js';

const DAY_MS = 86_400_000;

/** Where a workload stands against its `review_by` date at a moment. */
export type ReviewState =
  | { state: 'none' }
  | { state: 'current'; deadline: number }
  /** Within the warning lead time: still served, with a `workload.review_due` warning. */
  | { state: 'due'; deadline: number }
  | { state: 'overdue'; deadline: number };

/**
 * The moment a `review_by` date ends: the start of the next day, UTC. A workload is served
 * through the whole of its `review_by` day and refused from the first millisecond after it.
 */
export function reviewDeadline(reviewBy: string): number {
  return Date.parse(`${reviewBy}T00:00:00Z`) + DAY_MS;
}

/** The one answer of issuance, renewal and the reports on whether a review is due or overdue. */
export function reviewState(
  workload: Pick<WorkloadConfig, 'review_by'>,
  now: number,
  warningMs: number,
): ReviewState {
  if (workload.review_by === undefined) return { state: 'none' };
  const deadline = reviewDeadline(workload.review_by);
  if (now >= deadline) return { state: 'overdue', deadline };
  if (now >= deadline - warningMs) return { state: 'due', deadline };
  return { state: 'current', deadline };
}

/** The UTC day of a moment (`YYYY-MM-DD`): the unit of "once a day" for warnings. */
export function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}
