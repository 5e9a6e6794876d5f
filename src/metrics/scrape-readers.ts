import type { EventBusStats } from '../events/bus.js';
import type { SinkMode } from '../events/sink.js';
import type { EventType } from '../events/types.js';
import { LEASE_STATES, type LeaseStore } from '../leases/types.js';
import type { Metrics } from '../metrics.js';

/** Metrics that are read, not counted: refreshed before each scrape is rendered. */
export interface ScrapeReader {
  refresh(): Promise<void>;
}

/** At most this many lease records are read per census; past it the gauges are a floor. */
export const CENSUS_LIMIT = 20_000;
/** A census is reused for this long, so several scrapers cost one read. */
export const CENSUS_MAX_AGE_MS = 5_000;

/** Events after which this replica's census is out of date. */
export const CENSUS_CHANGING_EVENTS: ReadonlySet<EventType> = new Set([
  'credential.issued',
  'lease.revoked',
  'lease.expired',
  'lease.revoke_failed',
  'workload.revoked',
  'workload.blocked',
  'workload.unblocked',
  'issuance.frozen',
  'issuance.unfrozen',
]);

/**
 * Leases by target, provider and state, the freeze and the blocked workloads, read from the
 * store rather than counted in this process: every replica then reports the same figures,
 * whichever replica issued or revoked. Cost per read: the census's O(`limit` + workloads)
 * field reads plus one `workloads()` (O(workloads)). A read is reused for `maxAgeMs`, unless
 * this replica has changed a lease, a block or the freeze since (`invalidate`, called for
 * its events), so its own changes show at the next scrape and other replicas' within
 * `maxAgeMs`. A read that fails leaves the gauges unknown: no lease series, NaN for the others.
 */
export function leaseStoreReader(
  metrics: Metrics,
  store: Pick<LeaseStore, 'census' | 'isFrozen' | 'workloads'>,
  options: { limit?: number; maxAgeMs?: number; now?: () => number } = {},
): ScrapeReader & { invalidate(): void } {
  const limit = options.limit ?? CENSUS_LIMIT;
  const maxAgeMs = options.maxAgeMs ?? CENSUS_MAX_AGE_MS;
  const now = options.now ?? Date.now;
  let readAt = Number.NEGATIVE_INFINITY;
  let stale = true;
  let inflight: Promise<void> | undefined;
  // Unknown, not zero: labelled series go, the unlabelled ones read NaN.
  const clear = () => {
    metrics.leasesActive.reset();
    metrics.leasesByState.reset();
    for (const gauge of [
      metrics.censusTruncated,
      metrics.issuanceFrozen,
      metrics.workloadsBlocked,
    ]) {
      gauge.set(Number.NaN);
    }
  };
  const read = async () => {
    // Cleared before reading: a change during the read marks it stale again.
    stale = false;
    try {
      const [census, frozen, workloads] = await Promise.all([
        store.census(limit),
        store.isFrozen(),
        store.workloads(),
      ]);
      metrics.leasesActive.reset();
      metrics.leasesByState.reset();
      for (const state of LEASE_STATES) metrics.leasesByState.set({ state }, 0);
      for (const { target, provider, state, leases } of census.counts) {
        metrics.leasesByState.inc({ state }, leases);
        if (state === 'active') metrics.leasesActive.inc({ target, provider }, leases);
      }
      metrics.censusTruncated.set(census.truncated ? 1 : 0);
      metrics.issuanceFrozen.set(frozen === null ? 0 : 1);
      metrics.workloadsBlocked.set(workloads.filter((w) => w.blocked).length);
      readAt = now();
    } catch {
      stale = true;
      clear();
    }
  };
  return {
    invalidate() {
      stale = true;
    },
    refresh() {
      if (!stale && now() - readAt < maxAgeMs) return Promise.resolve();
      inflight ??= read().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
  };
}

/**
 * Each event sink's delivery counts, queue depth and health, read from the bus. The bus
 * keeps the counts; here they are only copied, so they are this replica's own (`sum` them).
 */
export function eventSinkReader(
  metrics: Metrics,
  bus: {
    stats(): EventBusStats;
    sinkHealth(): { sink: string; mode: SinkMode; healthy: boolean }[];
  },
): ScrapeReader {
  return {
    async refresh() {
      const { sinks } = bus.stats();
      for (const counter of [metrics.sinkWritten, metrics.sinkFailures, metrics.sinkDropped]) {
        counter.reset();
      }
      metrics.sinkQueueDepth.reset();
      metrics.sinkUp.reset();
      for (const [sink, stats] of Object.entries(sinks)) {
        metrics.sinkWritten.inc({ sink }, stats.written);
        metrics.sinkFailures.inc({ sink }, stats.failed);
        metrics.sinkDropped.inc({ sink }, stats.dropped);
        metrics.sinkQueueDepth.set({ sink }, stats.queued);
      }
      for (const { sink, mode, healthy } of bus.sinkHealth()) {
        metrics.sinkUp.set({ sink, mode }, healthy ? 1 : 0);
      }
    },
  };
}
