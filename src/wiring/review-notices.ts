import type { BrokerDeps } from '../broker/deps.js';
import { safeMessage } from '../leases/revoker.js';
import { outsideRequest } from '../lib/logger.js';
import type { ReviewNotices } from '../workloads/review-notices.js';
import { type ReviewSweepResult, sweepReviews } from '../workloads/review-sweep.js';

/** How often each replica sweeps the workloads for review warnings. */
export const REVIEW_SWEEP_INTERVAL_MS = 3_600_000;
/** The first sweep, shortly after start: a restart does not wait an hour to warn. */
export const REVIEW_SWEEP_FIRST_MS = 30_000;

export interface ReviewSweepTimer {
  start(): void;
  /** Stops the timers and waits for a sweep in flight, so nothing is emitted after it. */
  stop(): Promise<void>;
  /** One sweep now (skipped, answering undefined, while another is running). */
  sweep(): Promise<ReviewSweepResult | undefined>;
}

/**
 * The review sweep of one replica: first run shortly after start, then every interval,
 * `unref`'d so it never holds the process open. A sweep that fails is logged; the next
 * tick tries again.
 */
export function reviewSweepTimer(options: {
  deps: Pick<BrokerDeps, 'events' | 'logger' | 'runtime'>;
  notices: ReviewNotices;
  intervalMs?: number;
  firstMs?: number;
  now?: () => number;
}): ReviewSweepTimer {
  const { deps, notices } = options;
  const now = options.now ?? Date.now;
  let first: NodeJS.Timeout | undefined;
  let every: NodeJS.Timeout | undefined;
  let running: Promise<ReviewSweepResult | undefined> | undefined;
  const sweep = (): Promise<ReviewSweepResult | undefined> => {
    if (running) return Promise.resolve(undefined);
    running = outsideRequest(() => sweepReviews(deps, notices, now()))
      .catch((err: unknown) => {
        deps.logger.warn({ err: safeMessage(err) }, 'review sweep failed');
        return undefined;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  return {
    start() {
      first = setTimeout(() => void sweep(), options.firstMs ?? REVIEW_SWEEP_FIRST_MS);
      first.unref();
      every = setInterval(() => void sweep(), options.intervalMs ?? REVIEW_SWEEP_INTERVAL_MS);
      every.unref();
    },
    async stop() {
      clearTimeout(first);
      clearInterval(every);
      await running;
    },
    sweep,
  };
}
