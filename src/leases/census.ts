import type { ProviderKind } from '../../providers/provider.js';
import type { LeaseCensus, LeaseState } from './types.js';

export type CensusRow = {
  target: string;
  provider: ProviderKind;
  state: LeaseState;
  leases?: number;
};

/** Folds lease records (each `leases` of them, default one) into counts per (target, provider, state). */
export function tallyCensus(leases: Iterable<CensusRow>, truncated: boolean): LeaseCensus {
  const counts = new Map<string, LeaseCensus['counts'][number]>();
  for (const { target, provider, state, leases: n = 1 } of leases) {
    const key = JSON.stringify([target, provider, state]);
    const row = counts.get(key);
    if (row) row.leases += n;
    else counts.set(key, { target, provider, state, leases: n });
  }
  return { counts: [...counts.values()], truncated };
}
