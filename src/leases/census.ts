import type { ProviderKind } from '../../providers/provider.js';
import type { LeaseCensus, LeaseState } from './types.js';

type Counted = { target: string; provider: ProviderKind; state: LeaseState };

/** Folds lease records into counts per (target, provider, state). */
export function tallyCensus(leases: Iterable<Counted>, truncated: boolean): LeaseCensus {
  const counts = new Map<string, LeaseCensus['counts'][number]>();
  for (const { target, provider, state } of leases) {
    const key = JSON.stringify([target, provider, state]);
    const row = counts.get(key);
    if (row) row.leases += 1;
    else counts.set(key, { target, provider, state, leases: 1 });
  }
  return { counts: [...counts.values()], truncated };
}
