import type { BrokerDeps } from '../broker/deps.js';
import { reviewState } from './review-date.js';
import { DEFAULT_REVIEW_WARNING_MS } from './review-gate.js';

/** An inventory reads at most this many lease records in all, and this many per workload. */
export const MAX_INVENTORY_LEASES = 20_000;
export const MAX_INVENTORY_LEASES_PER_WORKLOAD = 2_000;

export interface InventoryEntry {
  workload: string;
  configured: boolean;
  owner?: string;
  description?: string;
  tier?: string;
  review_by?: string;
  review_due: boolean;
  review_overdue: boolean;
  live_leases: number;
  blocked: boolean;
  /** Creation of its latest lease still kept (active or within `leases.retention`). */
  last_used?: string;
  /** Not every lease of the workload was read: `last_used` may be older than the truth. */
  last_used_partial?: true;
}

export interface Inventory {
  generated_at: string;
  workloads: InventoryEntry[];
  truncated: boolean;
}

/**
 * Every machine identity the broker knows: each configured workload, and each one the store
 * has leases of that is no longer configured, with its owner, tier, review date, live leases
 * and last use. Bounded: lease records are read up to the limits above.
 */
export async function workloadInventory(
  deps: Pick<BrokerDeps, 'store' | 'runtime'>,
): Promise<Inventory> {
  const runtime = deps.runtime();
  const now = await deps.store.now();
  const warningMs = runtime.reviewWarningMs ?? DEFAULT_REVIEW_WARNING_MS;
  const known = new Map((await deps.store.workloads()).map((w) => [w.workload, w]));
  const ids = [...new Set([...runtime.workloads.keys(), ...known.keys()])].sort();
  let room = MAX_INVENTORY_LEASES;
  let truncated = false;
  const workloads: InventoryEntry[] = [];
  for (const id of ids) {
    const config = runtime.workloads.get(id);
    const summary = known.get(id);
    const limit = Math.min(room, MAX_INVENTORY_LEASES_PER_WORKLOAD);
    let last: number | undefined;
    let partial = false;
    if (summary !== undefined) {
      const page = limit > 0 ? await deps.store.list({ workload: id }, limit + 1) : { leases: [] };
      const read = page.leases.slice(0, limit);
      room -= read.length;
      partial = page.leases.length > limit || (limit === 0 && summary !== undefined);
      for (const lease of read)
        if (last === undefined || lease.createdAt > last) last = lease.createdAt;
    }
    truncated ||= partial;
    const review = config === undefined ? undefined : reviewState(config, now, warningMs);
    workloads.push({
      workload: id,
      configured: config !== undefined,
      ...(config?.owner === undefined ? {} : { owner: config.owner }),
      ...(config?.description === undefined ? {} : { description: config.description }),
      ...(config === undefined ? {} : { tier: config.tier }),
      ...(config?.review_by === undefined ? {} : { review_by: config.review_by }),
      review_due: review?.state === 'due',
      review_overdue: review?.state === 'overdue',
      live_leases: summary?.live ?? 0,
      blocked: summary?.blocked ?? false,
      ...(last === undefined ? {} : { last_used: new Date(last).toISOString() }),
      ...(partial ? { last_used_partial: true as const } : {}),
    });
  }
  return { generated_at: new Date(now).toISOString(), workloads, truncated };
}
