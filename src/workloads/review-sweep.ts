import type { BrokerDeps } from '../broker/deps.js';
import { safeMessage } from '../leases/revoker.js';
import { reviewState } from './review-date.js';
import { DEFAULT_REVIEW_WARNING_MS } from './review-gate.js';
import type { ReviewNotices } from './review-notices.js';
import { warnOncePerDay } from './review-warning.js';

/** What one sweep did: warnings emitted, and workloads whose marker could not be kept. */
export interface ReviewSweepResult {
  warned: string[];
  failed: string[];
}

/**
 * One pass over the configured workloads (the runtime in force, so a reload counts): each
 * one within its warning lead time, or past `review_by`, gets the day's `workload.review_due`
 * unless a request or another replica's sweep already emitted it. A workload that makes no
 * request is warned all the same. Never throws: a marker that cannot be kept is logged and
 * tried again by the next sweep.
 */
export async function sweepReviews(
  deps: Pick<BrokerDeps, 'events' | 'logger' | 'runtime'>,
  notices: ReviewNotices,
  now: number,
): Promise<ReviewSweepResult> {
  const result: ReviewSweepResult = { warned: [], failed: [] };
  const runtime = deps.runtime();
  const warningMs = runtime.reviewWarningMs ?? DEFAULT_REVIEW_WARNING_MS;
  for (const workload of runtime.workloads.values()) {
    const review = reviewState(workload, now, warningMs);
    if (review.state !== 'due' && review.state !== 'overdue') continue;
    try {
      const base = { workload: workload.id };
      if (await warnOncePerDay(deps, notices, workload, review, base, now)) {
        result.warned.push(workload.id);
      }
    } catch (err) {
      result.failed.push(workload.id);
      deps.logger.warn(
        { workload: workload.id, err: safeMessage(err) },
        'review sweep: warning not kept',
      );
    }
  }
  return result;
}
