import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics. Labels carry names and codes only, never ids or secrets. */
export class Metrics {
  readonly registry = new Registry();
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
  readonly mintSeconds = new Histogram({
    name: 'jit_mint_duration_seconds',
    help: 'Provider mint latency',
    labelNames: ['target'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly reaperLag = new Gauge({
    name: 'jit_reaper_lag_seconds',
    help: 'How late the last claimed expiry was revoked',
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

  /** Consumer-group backlog of the event stream, read when /metrics is scraped. */
  watchEventStream(
    read: () => Promise<{ group: string; pending: number; lag: number | null }[]>,
  ): void {
    this.#streamGroups = read;
  }

  async metrics(): Promise<string> {
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
}
