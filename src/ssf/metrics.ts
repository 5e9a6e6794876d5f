import { Counter, Gauge, type Registry } from 'prom-client';

/** Delivery figures, labelled by receiver name (from the configuration), never by id. */
export class SsfMetrics {
  readonly delivered: Counter<'receiver'>;
  readonly failed: Counter<'receiver' | 'reason'>;
  readonly retried: Counter<'receiver'>;
  readonly dropped: Counter<'receiver'>;
  readonly queueDepth: Gauge;

  constructor(registry: Registry) {
    this.delivered = new Counter({
      name: 'jit_ssf_sets_delivered_total',
      help: 'Security Event Tokens a receiver accepted (202)',
      labelNames: ['receiver'] as const,
      registers: [registry],
    });
    this.failed = new Counter({
      name: 'jit_ssf_sets_failed_total',
      help: 'Security Event Tokens given up on (refused, or out of attempts)',
      labelNames: ['receiver', 'reason'] as const,
      registers: [registry],
    });
    this.retried = new Counter({
      name: 'jit_ssf_delivery_retries_total',
      help: 'Failed pushes that will be tried again',
      labelNames: ['receiver'] as const,
      registers: [registry],
    });
    this.dropped = new Counter({
      name: 'jit_ssf_sets_dropped_total',
      help: 'Security Event Tokens dropped undelivered because the queue was full (oldest first)',
      labelNames: ['receiver'] as const,
      registers: [registry],
    });
    this.queueDepth = new Gauge({
      name: 'jit_ssf_queue_depth',
      help: 'Security Event Tokens waiting for delivery, all receivers (shared: aggregate with max)',
      registers: [registry],
    });
  }
}
