import type { Cluster, Redis } from 'ioredis';
import type { BrokerConfig } from '../config/schema.js';
import type { KillSwitch } from '../detections/actions.js';
import { DetectionEngine } from '../detections/engine.js';
import {
  type DetectionHolds,
  MemoryDetectionHolds,
  RedisDetectionHolds,
} from '../detections/holds.js';
import { LiveDetections } from '../detections/live.js';
import { MemoryDetectionState } from '../detections/memory-state.js';
import { RedisDetectionState } from '../detections/redis-state.js';
import type { DetectionState } from '../detections/state.js';
import type { BrokerEvent, EventEmitter } from '../events/types.js';
import { safeMessage } from '../leases/revoker.js';
import { type Logger, outsideRequest } from '../lib/logger.js';
import type { Metrics } from '../metrics.js';

export interface WiredDetections {
  /** Read by the approvals gate: a `require_approval` firing's hold on a workload. */
  holds: DetectionHolds;
  /** Subscribes to the replica's events and acts through the kill switch. */
  start(deps: {
    subscribe: (listener: (event: BrokerEvent) => void) => () => void;
    events: EventEmitter;
    killSwitch: KillSwitch;
  }): void;
  live(): LiveDetections | undefined;
  close(): Promise<void>;
}

/**
 * Detections for one replica: state and holds in the lease store's Redis (shared by
 * replicas) or memory, an engine per configuration in force, and the live path on the
 * event bus. Nothing is subscribed when no rule is configured.
 */
export function wireDetections(options: {
  config: () => BrokerConfig;
  redis: Redis | Cluster | undefined;
  keyPrefix: string;
  metrics: Metrics;
  logger: Logger;
}): WiredDetections {
  const { redis, keyPrefix, metrics, logger } = options;
  const state: DetectionState = redis
    ? new RedisDetectionState(redis, keyPrefix)
    : new MemoryDetectionState();
  const stored = redis ? new RedisDetectionHolds(redis, keyPrefix) : new MemoryDetectionHolds();
  // Issuance asks the store only while some rule in force can place a hold: a configuration
  // without one costs issuance nothing, and holds left by a removed rule stop holding.
  const holds: DetectionHolds = {
    place: (workload, hold, ttlMs) => stored.place(workload, hold, ttlMs),
    clear: (workload) => stored.clear(workload),
    held: async (workload) =>
      options
        .config()
        .detections.some(
          (r) =>
            r.mode === 'enforce' && (r.actions as readonly string[]).includes('require_approval'),
        )
        ? stored.held(workload)
        : undefined,
  };
  let built: { config: BrokerConfig; engine: DetectionEngine } | undefined;
  const engine = (): DetectionEngine => {
    const config = options.config();
    if (built?.config !== config) {
      built = {
        config,
        engine: new DetectionEngine({
          rules: config.detections,
          workloads: config.workloads,
          state,
        }),
      };
    }
    return built.engine;
  };
  let live: LiveDetections | undefined;
  let unsubscribe: (() => void) | undefined;
  let lastDropLog = 0;
  return {
    holds,
    start(deps) {
      live = new LiveDetections({
        engine,
        events: deps.events,
        holds,
        killSwitch: deps.killSwitch,
        onDrop: () => {
          metrics.detectionsDropped.inc();
          // At most one line a minute however long the queue stays full; the metric counts all.
          if (Date.now() - lastDropLog >= 60_000) {
            lastDropLog = Date.now();
            outsideRequest(() => logger.warn('detection queue full: events dropped unevaluated'));
          }
        },
        onFired: (kind, mode) => metrics.detectionsFired.inc({ kind, mode }),
        onError: (err) => {
          metrics.detectionErrors.inc();
          outsideRequest(() => logger.warn({ err: safeMessage(err) }, 'detection not evaluated'));
        },
      });
      const running = live;
      unsubscribe = deps.subscribe((event) => running.offer(event));
    },
    live: () => live,
    async close() {
      unsubscribe?.();
      await live?.close();
    },
  };
}
