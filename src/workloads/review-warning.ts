import type { BrokerDeps } from '../broker/deps.js';
import { emitBestEffort } from '../broker/lib/events.js';
import type { WorkloadConfig } from '../config/schema.js';
import type { EventInput } from '../events/types.js';
import { type ReviewState, utcDay } from './review-date.js';
import type { ReviewNotices } from './review-notices.js';

/**
 * The one `workload.review_due` of a workload on a UTC day, across replicas and across the
 * request path and the periodic sweep: the first caller of the day's marker emits, every
 * other caller emits nothing. An overdue workload's notice carries `detail.overdue: true`
 * and severity `high`. A marker that cannot be kept throws (the caller decides what that costs).
 */
export async function warnOncePerDay(
  deps: Pick<BrokerDeps, 'events' | 'logger'>,
  notices: ReviewNotices,
  workload: WorkloadConfig,
  review: Extract<ReviewState, { state: 'due' | 'overdue' }>,
  base: Omit<EventInput, 'type' | 'outcome'>,
  now: number,
): Promise<boolean> {
  if (!(await notices.firstOfDay(workload.id, utcDay(now)))) return false;
  const overdue = review.state === 'overdue';
  await emitBestEffort(deps, {
    ...base,
    type: 'workload.review_due',
    outcome: 'success',
    ...(overdue ? { severity: 'high' as const } : {}),
    reason: overdue ? 'review_overdue' : 'review_due',
    detail: {
      review_by: workload.review_by,
      deadline: new Date(review.deadline).toISOString(),
      ...(overdue ? { overdue: true } : {}),
      ...(workload.owner === undefined ? {} : { owner: workload.owner }),
    },
  });
  return true;
}
