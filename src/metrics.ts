import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { packageVersion } from './cli/version.js';
import { watchKeyRefreshes } from './metrics/key-refreshes.js';
import type { ScrapeReader } from './metrics/scrape-readers.js';

/** Latency buckets shared by the request and provider-call histograms (seconds). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Prometheus metrics. Labels carry names, kinds and codes from the configuration or from
 * closed sets, never lease, task or token ids, subjects or raw paths, so every label has a
 * bounded number of values. Gauges of shared state (leases, freeze, blocked workloads) are
 * read from the store at scrape time and are the same on every replica: aggregate them
 * with `max`, not `sum`.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #readers: ScrapeReader[] = [];
  readonly #stopWatching: () => void;

  readonly buildInfo = new Gauge({
    name: 'jit_build_info',
    help: 'Always 1; the version label names the running build',
    labelNames: ['version'] as const,
    registers: [this.registry],
  });
  readonly issued = new Counter({
    name: 'jit_credentials_issued_total',
    help: 'Credentials issued',
    labelNames: ['target', 'provider'] as const,
    registers: [this.registry],
  });
  readonly denied = new Counter({
    name: 'jit_credentials_denied_total',
    help: 'Credential requests refused',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'jit_auth_failures_total',
    help: 'Workload or operator tokens refused',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly eventsShed = new Counter({
    name: 'jit_events_shed_total',
    help: 'Sheddable events (auth failures) not chained because a sink held its share of them',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly detectionsFired = new Counter({
    name: 'jit_detections_fired_total',
    help: 'Detection rules that fired, by kind and mode (enforce, dry_run)',
    labelNames: ['kind', 'mode'] as const,
    registers: [this.registry],
  });
  readonly detectionsDropped = new Counter({
    name: 'jit_detections_dropped_total',
    help: 'Events not evaluated by detections because their queue was full',
    registers: [this.registry],
  });
  readonly detectionErrors = new Counter({
    name: 'jit_detections_errors_total',
    help: 'Detection evaluations that failed (the state store did not answer)',
    registers: [this.registry],
  });
  readonly revoked = new Counter({
    name: 'jit_leases_revoked_total',
    help: 'Leases revoked or expired at the provider',
    labelNames: ['target', 'reason'] as const,
    registers: [this.registry],
  });
  readonly revokeErrors = new Counter({
    name: 'jit_revoke_errors_total',
    help: 'Provider revocation attempts that failed (each is retried)',
    labelNames: ['target'] as const,
    registers: [this.registry],
  });
  readonly revokeFailed = new Counter({
    name: 'jit_leases_revoke_failed_total',
    help: 'Leases that reached revoke_failed after the last attempt',
    labelNames: ['target'] as const,
    registers: [this.registry],
  });
  readonly revocationVerifications = new Counter({
    name: 'jit_revocation_verifications_total',
    help: 'Revocations checked at the target: verified, unverified (the credential may still work) or unverifiable',
    labelNames: ['target', 'status'] as const,
    registers: [this.registry],
  });
  readonly revokeSeconds = new Histogram({
    name: 'jit_revoke_duration_seconds',
    help: 'Provider revocation call latency, failed calls included',
    labelNames: ['provider', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly mintSeconds = new Histogram({
    name: 'jit_mint_duration_seconds',
    help: 'Provider mint latency',
    labelNames: ['target'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly reaperLag = new Gauge({
    name: 'jit_reaper_lag_seconds',
    help: 'How late the latest reaper pass revoked the most overdue expired lease it claimed',
    registers: [this.registry],
  });
  readonly reaperLagSeconds = new Histogram({
    name: 'jit_reaper_expiry_lag_seconds',
    help: 'How late each expired lease was claimed by the reaper, past its expiry',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly httpRequests = new Counter({
    name: 'jit_http_requests_total',
    help: 'HTTP requests answered, by route template (unmatched for no route) and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpSeconds = new Histogram({
    name: 'jit_http_request_duration_seconds',
    help: 'Time to answer an HTTP request (to the first byte of a streamed answer)',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly redisErrors = new Counter({
    name: 'jit_redis_command_errors_total',
    help: 'Lease store operations that failed because Redis did not serve them',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });
  readonly redisConnectionErrors = new Counter({
    name: 'jit_redis_connection_errors_total',
    help: 'Errors reported by the lease store connection (each reconnect attempt that fails)',
    registers: [this.registry],
  });
  readonly keyRefreshes = new Counter({
    name: 'jit_jwks_refreshes_total',
    help: 'Fetches of remote signing keys (JWKS, discovery, SPIFFE bundles), by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  // Read at scrape time (`metrics/scrape-readers.ts`).
  readonly leasesActive = new Gauge({
    name: 'jit_leases_active',
    help: 'Leases in state active, from the store (the same on every replica)',
    labelNames: ['target', 'provider'] as const,
    registers: [this.registry],
  });
  readonly leasesByState = new Gauge({
    name: 'jit_leases',
    help: 'Lease records held by the store (finished ones until their retention ends), by state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly censusTruncated = new Gauge({
    name: 'jit_lease_census_truncated',
    help: '1 when the store held more leases than a scrape reads: the lease gauges are a floor',
    registers: [this.registry],
  });
  readonly issuanceFrozen = new Gauge({
    name: 'jit_issuance_frozen',
    help: '1 while issuance is frozen (POST /v1/freeze)',
    registers: [this.registry],
  });
  readonly workloadsBlocked = new Gauge({
    name: 'jit_workloads_blocked',
    help: 'Workloads blocked by the kill switch',
    registers: [this.registry],
  });
  readonly sinkWritten = new Counter({
    name: 'jit_event_sink_written_total',
    help: 'Events an event sink accepted',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });
  readonly sinkFailures = new Counter({
    name: 'jit_event_sink_write_failures_total',
    help: 'Write attempts an event sink failed (the batch is retried)',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });
  readonly sinkDropped = new Counter({
    name: 'jit_event_sink_dropped_total',
    help: 'Events never handed to an event sink because its queue was full or it was closed',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });
  readonly sinkQueueDepth = new Gauge({
    name: 'jit_event_sink_queue_depth',
    help: 'Events waiting for an event sink, a batch in flight included',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });
  readonly sinkUp = new Gauge({
    name: 'jit_event_sink_up',
    help: '1 when the sink took its last write and has queue room; a required one at 0 fails issuance closed',
    labelNames: ['sink', 'mode'] as const,
    registers: [this.registry],
  });

  /** Reads the event stream's consumer groups at each scrape (set when the sink runs). */
  #streamGroups?: () => Promise<{ group: string; pending: number; lag: number | null }[]>;
  readonly eventStreamLag = new Gauge({
    name: 'jit_event_stream_lag',
    help: 'Events of the Redis stream sink not yet delivered to a consumer group (SIEM lag)',
    labelNames: ['group'] as const,
    registers: [this.registry],
  });
  readonly eventStreamPending = new Gauge({
    name: 'jit_event_stream_pending',
    help: 'Events delivered to a consumer group and not yet acknowledged',
    labelNames: ['group'] as const,
    registers: [this.registry],
  });

  constructor(options: { version?: string } = {}) {
    this.buildInfo.set({ version: options.version ?? packageVersion() }, 1);
    collectDefaultMetrics({ register: this.registry });
    this.#stopWatching = watchKeyRefreshes((outcome) => this.keyRefreshes.inc({ outcome }));
  }

  /** Consumer-group backlog of the event stream, read when /metrics is scraped. */
  watchEventStream(
    read: () => Promise<{ group: string; pending: number; lag: number | null }[]>,
  ): void {
    this.#streamGroups = read;
  }

  /** Adds metrics read at each scrape (`metrics/scrape-readers.ts`). */
  watch(reader: ScrapeReader): void {
    this.#readers.push(reader);
  }

  async metrics(): Promise<string> {
    await Promise.all(this.#readers.map((reader) => reader.refresh()));
    if (this.#streamGroups) {
      this.eventStreamLag.reset();
      this.eventStreamPending.reset();
      try {
        for (const g of await this.#streamGroups()) {
          if (g.lag !== null) this.eventStreamLag.set({ group: g.group }, g.lag);
          this.eventStreamPending.set({ group: g.group }, g.pending);
        }
      } catch {
        // Redis unreachable: the gauges stay empty for this scrape; readiness says why.
      }
    }
    return this.registry.metrics();
  }

  /** Stops listening for process-wide reports (key refreshes). */
  close(): void {
    this.#stopWatching();
  }
}
