import type { OrphanClock } from './orphan-clock.js';

/** An account under the broker's prefix whose name maps back to a lease. */
export interface OrphanCandidate {
  /** Names the account across sweeps (the orphan clock's key). */
  key: string;
  leaseId: string;
}

/**
 * Removes each candidate whose lease is not live once the clock has seen it orphaned for
 * `graceMs`, and forgets every account that is no longer an orphan. Returns how many were
 * removed.
 */
export async function sweepOrphans<Candidate extends OrphanCandidate>(
  clock: OrphanClock,
  candidates: Iterable<Candidate>,
  isLive: (leaseId: string) => Promise<boolean>,
  graceMs: number,
  remove: (candidate: Candidate) => Promise<void>,
): Promise<number> {
  const now = Date.now();
  const orphaned = new Set<string>();
  let removed = 0;
  for (const candidate of candidates) {
    if (await isLive(candidate.leaseId)) continue;
    orphaned.add(candidate.key);
    if (!clock.due(candidate.key, now, graceMs)) continue;
    await remove(candidate);
    clock.forget(candidate.key);
    removed += 1;
  }
  clock.keepOnly(orphaned);
  return removed;
}
