import type { BrokerDeps } from '../broker/deps.js';
import type { WorkloadConfig } from '../config/schema.js';
import { BrokerError } from '../errors.js';
import type { EventInput } from '../events/types.js';
import { safeMessage } from '../leases/revoker.js';
import { reviewState } from './review-date.js';
import { MemoryReviewNotices } from './review-notices.js';
import { warnOncePerDay } from './review-warning.js';

/** The default of `review_warning`, for a runtime built without it. */
export const DEFAULT_REVIEW_WARNING_MS = 14 * 86_400_000;

const fallbackNotices = new MemoryReviewNotices();

/**
 * The review rule of issuance and renewal: a workload past its `review_by` day gets
 * `workload_review_overdue` (returned, for the caller's own denial path); within the warning
 * lead time it is served, and the first request of each UTC day, across replicas and the
 * periodic sweep (`review-sweep.ts`), emits `workload.review_due`. A warning that cannot be recorded never refuses a request.
 */
export async function reviewGate(
  deps: Pick<BrokerDeps, 'events' | 'logger' | 'runtime' | 'reviewNotices'>,
  workload: WorkloadConfig,
  base: Omit<EventInput, 'type' | 'outcome'>,
  now: number = Date.now(),
): Promise<BrokerError | undefined> {
  if (workload.review_by === undefined) return undefined;
  const warningMs = deps.runtime().reviewWarningMs ?? DEFAULT_REVIEW_WARNING_MS;
  const review = reviewState(workload, now, warningMs);
  if (review.state === 'overdue') {
    return new BrokerError(
      'workload_review_overdue',
      `workload ${workload.id} was due for review by ${workload.review_by}; its owner must review it`,
    );
  }
  if (review.state !== 'due') return undefined;
  try {
    await warnOncePerDay(deps, deps.reviewNotices ?? fallbackNotices, workload, review, base, now);
  } catch (err) {
    deps.logger.warn({ workload: workload.id, err: safeMessage(err) }, 'review warning not kept');
  }
  return undefined;
}
