import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics.js';
import type { Revoker } from './revoker.js';
import type { LeaseStore } from './types.js';

export interface ReaperOptions {
  store: LeaseStore;
  revoker: Revoker;
  logger: Logger;
  metrics: Metrics;
  intervalMs: number;
  batch: number;
  /** How often the due hints are rebuilt from every known workload. */
  repairEveryMs?: number;
}

/**
 * Revokes leases when they are due: expired, crashed mints (`pending` past its timeout),
 * retries after backoff, claims whose holder died. Any number of reapers may run: each
 * lease is claimed by one at a time. A Redis outage only pauses it.
 */
export class Reaper {
  readonly #o: ReaperOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  #lastRepair = 0;

  constructor(options: ReaperOptions) {
    this.#o = options;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.tick()
        .then((busy) => this.#schedule(busy ? 0 : this.#o.intervalMs))
        .catch((err: unknown) => {
          // A pass cut short (Redis gone) may have taken a workload's due hint without
          // claiming its leases: rebuild the hints on the first pass that gets through.
          this.#lastRepair = 0;
          this.#o.logger.warn(
            { err: err instanceof Error ? err.message : String(err) },
            'reaper pass failed',
          );
          this.#schedule(this.#o.intervalMs);
        });
    }, ms);
    this.#timer.unref();
  }

  /** One pass. Resolves true when it claimed anything (more may be due right away). */
  async tick(): Promise<boolean> {
    const { store, revoker, batch } = this.#o;
    const now = await store.now();
    if (now - this.#lastRepair >= (this.#o.repairEveryMs ?? 30_000)) {
      this.#lastRepair = now;
      await store.repairHints();
    }
    const workloads = await store.dueWorkloads(batch);
    let claimed = 0;
    let lag = 0;
    // A few workloads at a time, each revoked while the next is claimed: one slow target
    // does not hold up the others, and the per-target limits still bound each provider.
    const queue = [...workloads];
    const work: Promise<void>[] = [];
    const lane = async () => {
      for (let workload = queue.shift(); workload !== undefined; workload = queue.shift()) {
        const claims = await store.claimDue(workload, batch);
        claimed += claims.length;
        for (const c of claims) {
          if (c.reason !== 'expired') continue;
          lag = Math.max(lag, now - c.lease.expiresAt);
          this.#o.metrics.reaperLagSeconds.observe(Math.max(0, now - c.lease.expiresAt) / 1000);
        }
        work.push(revoker.execute(claims).then(() => undefined));
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, workloads.length) }, lane));
    await Promise.all(work);
    this.#o.metrics.reaperLag.set(lag / 1000);
    // Anything claimed means more may be due already: go again at once.
    return claimed > 0;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running?.catch(() => {});
  }
}
