import type { Provider } from '../../providers/provider.js';
import type { Logger } from '../lib/logger.js';
import { safeMessage } from './revoker.js';
import { FINISHED_STATES, type LeaseStore } from './types.js';

export interface SweeperOptions {
  store: LeaseStore;
  providers: () => ReadonlyMap<string, Provider>;
  logger: Logger;
  intervalMs: number;
  graceMs: number;
}

/**
 * The last line of defence for credentials whose lease record is gone (a lost Redis, a crash
 * before the lease was written): providers that can list what they made drop anything with
 * no live lease. When the store cannot answer, nothing counts as orphaned.
 */
export class Sweeper {
  readonly #o: SweeperOptions;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: SweeperOptions) {
    this.#o = options;
  }

  start(): void {
    this.#timer = setInterval(() => void this.sweep(), this.#o.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async isLive(leaseId: string): Promise<boolean> {
    try {
      const lease = await this.#o.store.get(leaseId);
      return lease !== null && !FINISHED_STATES.has(lease.state);
    } catch {
      return true;
    }
  }

  /** One pass over every provider that can sweep; returns how many credentials were dropped. */
  async sweep(): Promise<number> {
    let removed = 0;
    for (const provider of this.#o.providers().values()) {
      if (!provider.sweep) continue;
      try {
        const n = await provider.sweep((id) => this.isLive(id), this.#o.graceMs);
        if (n > 0)
          this.#o.logger.warn(
            { target: provider.target, removed: n },
            'swept orphaned credentials',
          );
        removed += n;
      } catch (err) {
        this.#o.logger.warn({ target: provider.target, err: safeMessage(err) }, 'sweep failed');
      }
    }
    return removed;
  }
}
