/**
 * How long a refused lease should wait when a live-lease counter is full: until the first of
 * its leases can end, and never less than a second (or a second when none has an end).
 */
export function untilSoonestEnd(states: readonly { expiresAt?: number }[], now: number): number {
  const soonest = Math.min(...states.map((s) => s.expiresAt ?? Number.POSITIVE_INFINITY));
  return Number.isFinite(soonest) ? Math.max(1_000, soonest - now) : 1_000;
}
