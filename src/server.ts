import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ServerType } from '@hono/node-server';
import { loadProviderModules } from '../providers/module/index.js';
import type { ApiServices } from './api/context.js';
import { createApp } from './app.js';
import { MemoryApprovalStore } from './approvals/memory-store.js';
import { RedisApprovalStore } from './approvals/redis-store.js';
import { Broker } from './broker/index.js';
import { MemoryBudgetStore } from './budgets/memory-store.js';
import { RedisBudgetStore } from './budgets/redis-store.js';
import type { BrokerConfig } from './config/schema.js';
import { AuthFailureAggregator } from './events/auth-failures.js';
import { EventBus } from './events/bus.js';
import { type AuditKeyring, createAuditKeyring } from './events/signing/index.js';
import type { EventSink } from './events/sink.js';
import { createSinks } from './events/sinks/index.js';
import type { EventEmitter } from './events/types.js';
import { MemoryReplayGuard, RedisReplayGuard } from './identity/replay-guard.js';
import { Reaper } from './leases/reaper.js';
import { Revoker, safeMessage } from './leases/revoker.js';
import { Sweeper } from './leases/sweeper.js';
import type { LeaseStore } from './leases/types.js';
import { clientAddressFrom } from './lib/forwarded.js';
import { type Logger, outsideRequest } from './lib/logger.js';
import {
  CENSUS_CHANGING_EVENTS,
  eventSinkReader,
  leaseStoreReader,
} from './metrics/scrape-readers.js';
import { countStoreErrors } from './metrics/store-errors.js';
import { Metrics } from './metrics.js';
import { MemoryActorUseLedger, RedisActorUseLedger } from './policy/actor-ledger.js';
import type { RevocationVerifier } from './revocation/verifier.js';
import { buildRuntime, type Runtime } from './runtime.js';
import { wireDetections } from './wiring/detections.js';
import { listen } from './wiring/listen.js';
import { openLeaseStore, storeSettings } from './wiring/open-store.js';
import { brokerUrl, providerContext } from './wiring/provider-context.js';
import { createReadiness } from './wiring/readiness.js';
import { type ReviewSweepTimer, reviewSweepTimer } from './wiring/review-notices.js';
import { revocationProof } from './wiring/revocation-proof.js';
import { createSsf } from './wiring/ssf.js';
import { optionalHistory, streamHistory } from './workloads/event-history.js';
import { MemoryReviewNotices, RedisReviewNotices } from './workloads/review-notices.js';

export { storeSettings } from './wiring/open-store.js';

export interface StartOptions {
  config: BrokerConfig;
  store: 'redis' | 'memory';
  logger: Logger;
  /** Where the stdout event sink writes (tests capture it). */
  eventsOut?: NodeJS.WritableStream;
  fetch?: typeof fetch;
  /** Bind the HTTP server (false: in-process app only). */
  listen?: boolean;
  reaper?: boolean;
  /** Delay of the first review sweep (default 30s; it starts with the reaper). */
  reviewSweepFirstMs?: number;
  /** Refuse to start when Redis keeps no AOF (also `redis.require_aof`). */
  requireAof?: boolean;
  /** Load `provider: module` targets' code (`serve --allow-provider-modules`). */
  allowProviderModules?: boolean;
  /** Relative module paths resolve against this (the config file's folder). */
  baseDir?: string;
  /** Wrappers around the parts the broker is built from (benchmarks time them). */
  instrument?: Instrumentation;
}

/**
 * Each hook receives a part as `startBroker` built it and returns what the broker uses
 * instead (the same part, wrapped). Production passes none.
 */
export interface Instrumentation {
  store?(store: LeaseStore): LeaseStore;
  sink?(sink: EventSink): EventSink;
  events?(emitter: EventEmitter): EventEmitter;
  /** Applied to every runtime built: at start and at each reload. */
  runtime?(runtime: Runtime): Runtime;
}

export interface RunningBroker {
  url: string;
  app: ReturnType<typeof createApp>;
  broker: Broker;
  store: LeaseStore;
  events: EventBus;
  revoker: Revoker;
  /** Proof of revocation: checks at the targets after revocations. */
  verifier: RevocationVerifier;
  reaper: Reaper;
  sweeper: Sweeper;
  /** The periodic `workload.review_due` sweep over the configured workloads. */
  reviewSweep: ReviewSweepTimer;
  metrics: Metrics;
  runtime(): Runtime;
  /** Swaps policies, workloads, issuers and targets atomically (SIGHUP). */
  reload(config: BrokerConfig): void;
  close(): Promise<void>;
}

/**
 * Wires and starts a broker: the one composition of `serve`, `dev`, the integration tests
 * and the benchmarks. It builds; the parts hold the logic. Nothing is written to the audit
 * trail until everything that can fail at start (the store, the configuration, the sinks,
 * the port) has succeeded, so a start that fails leaves no `chain.genesis` behind.
 */
export async function startBroker(options: StartOptions): Promise<RunningBroker> {
  const { config, logger } = options;
  const hooks = options.instrument ?? {};
  const metrics = new Metrics();
  // `runtime` is assigned below, before the store is first used.
  let runtime: Runtime;
  const opened = await openLeaseStore({
    kind: options.store,
    config,
    logger,
    settings: {
      ...storeSettings(config),
      inPlaceTargets: () =>
        new Set(
          [...runtime.providers.values()]
            .filter((p) => p.revocationIsLeaseState)
            .map((p) => p.target),
        ),
    },
    ...(options.requireAof === undefined ? {} : { requireAof: options.requireAof }),
  });
  const store = countStoreErrors(hooks.store?.(opened.store) ?? opened.store, (operation) =>
    metrics.redisErrors.inc({ operation }),
  );
  opened.redis?.on('error', () => metrics.redisConnectionErrors.inc());
  const abandon = async (err: unknown): Promise<never> => {
    opened.stop();
    metrics.close();
    await store.close();
    throw err;
  };

  const replayGuard = opened.redis
    ? new RedisReplayGuard(opened.redis, config.redis.key_prefix)
    : new MemoryReplayGuard();
  const actorUses = opened.redis
    ? new RedisActorUseLedger(opened.redis, config.redis.key_prefix)
    : new MemoryActorUseLedger();
  const modules = options.allowProviderModules
    ? await loadProviderModules(
        config.targets,
        (path) => pathToFileURL(resolve(options.baseDir ?? process.cwd(), path)).href,
      ).catch(abandon)
    : undefined;
  const build = (next: BrokerConfig): Runtime => {
    const built = buildRuntime(next, {
      providerContext: providerContext(next, modules, opened.endpoints, opened.redis),
      replayGuard,
      actorUses,
      leases: store,
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    });
    return hooks.runtime?.(built) ?? built;
  };
  let sinks: EventSink[];
  let signing: AuditKeyring;
  try {
    runtime = build(config);
    signing = createAuditKeyring(config.events);
    sinks = createSinks(config.events, {
      redis: opened.redis,
      keyPrefix: config.redis.key_prefix,
      eventsOut: options.eventsOut,
      metrics,
    }).map((sink) => hooks.sink?.(sink) ?? sink);
  } catch (err) {
    return abandon(err);
  }

  const events = new EventBus({
    sinks,
    signing,
    onError: (sink, err) =>
      outsideRequest(() => logger.warn({ sink, err: safeMessage(err) }, 'event sink problem')),
    onShed: (type) => metrics.eventsShed.inc({ type }),
  });
  metrics.watch(eventSinkReader(metrics, events));
  const census = leaseStoreReader(metrics, store);
  metrics.watch(census);
  events.subscribe((event) => {
    if (CENSUS_CHANGING_EVENTS.has(event.type)) census.invalidate();
  });
  // Every event names the policy set in force: issuance and lease events their own (the
  // decision's or the lease's), every other one the set loaded when it happened.
  const stamped: EventEmitter = {
    emit: (event, emitOptions) =>
      events.emit(
        event.policy_hash === undefined ? { ...event, policy_hash: runtime.policy.hash } : event,
        emitOptions,
      ),
  };
  const emitter = hooks.events?.(stamped) ?? stamped;
  const proof = revocationProof(config, {
    store,
    redis: opened.redis,
    events: emitter,
    metrics,
    logger,
  });
  events.subscribe(proof.recorder);

  const revoker = new Revoker({
    store,
    providers: () => runtime.providers,
    sealer: () => runtime.sealer,
    events: emitter,
    metrics,
    logger,
    backoffBaseMs: config.leases.reaper.backoff_base,
    backoffMaxMs: config.leases.reaper.backoff_max,
    afterRevoke: (lease, provider, handle, reason) =>
      proof.verifier.schedule(lease, provider, handle, reason),
  });
  const detections = wireDetections({
    config: () => runtime.config,
    redis: opened.redis,
    keyPrefix: config.redis.key_prefix,
    metrics,
    logger,
  });
  const reviewNotices = opened.redis
    ? new RedisReviewNotices(opened.redis, config.redis.key_prefix)
    : new MemoryReviewNotices();
  const broker = new Broker({
    store,
    sealer: () => runtime.sealer,
    events: emitter,
    revoker,
    metrics,
    logger,
    runtime: () => runtime,
    killSwitchDeadlineMs: config.leases.kill_switch_deadline,
    detectionHolds: detections.holds,
    approvals: opened.redis
      ? new RedisApprovalStore(opened.redis, config.redis.key_prefix)
      : new MemoryApprovalStore(),
    budgets: opened.redis
      ? new RedisBudgetStore(opened.redis, config.redis.key_prefix)
      : new MemoryBudgetStore(),
    reviewNotices,
    ...optionalHistory(
      streamHistory(opened.redis, config.redis.key_prefix, config.events.redis_stream),
    ),
    leaseRetentionMs: config.leases.retention,
    receipts: proof.receipts,
  });
  detections.start({
    subscribe: (listener) => events.subscribe(listener),
    events: emitter,
    killSwitch: (workload, o, by, caller) => broker.revokeWorkload(workload, o, by, caller),
  });
  const reaper = new Reaper({
    store,
    revoker,
    logger,
    metrics,
    intervalMs: config.leases.reaper.interval,
    batch: config.leases.reaper.batch,
  });
  const sweeper = new Sweeper({
    store,
    providers: () => runtime.providers,
    logger,
    intervalMs: config.leases.sweep_interval,
    graceMs: config.leases.sweep_grace,
  });
  const reviewSweep = reviewSweepTimer({
    deps: { events: emitter, logger, runtime: () => runtime },
    notices: reviewNotices,
    ...(options.reviewSweepFirstMs === undefined ? {} : { firstMs: options.reviewSweepFirstMs }),
  });
  const readiness = createReadiness({ store, providers: () => runtime.providers });
  const authFailures = new AuthFailureAggregator({
    events: emitter,
    hasRoom: () => !events.wouldShed('auth.failed'),
    onError: (err) =>
      outsideRequest(() =>
        logger.warn({ err: safeMessage(err) }, 'auth failure summary not emitted'),
      ),
  });
  let ssf: ReturnType<typeof createSsf>;
  try {
    ssf = createSsf(config, {
      brokerUrl: brokerUrl(config),
      redis: opened.redis,
      events: emitter,
      logger,
      metrics,
    });
  } catch (err) {
    return abandon(err);
  }
  if (ssf !== undefined) {
    const transmitter = ssf.transmitter;
    events.subscribe((event) => transmitter.observe(event));
  }
  const reloadListeners = new Set<() => void>();

  const services: ApiServices = {
    broker,
    identity: () => runtime.identity,
    authorizationServer: () => runtime.authorizationServer,
    operators: () => runtime.operators,
    events: emitter,
    authFailures,
    subscribe: (listener) => events.subscribe(listener),
    onReload: (listener) => {
      reloadListeners.add(listener);
      return () => reloadListeners.delete(listener);
    },
    metrics,
    logger,
    jwks: () => [...runtime.providers.values()].flatMap((p) => p.publicJwks?.() ?? []),
    auditKeys: () => events.publishedKeys(),
    ...(ssf === undefined ? {} : { ssf: ssf.publication }),
    readiness,
    ...(config.server.metrics_token === undefined
      ? {}
      : { metricsToken: config.server.metrics_token }),
    clientAddress: clientAddressFrom(config.server.trust_proxy),
  };
  const app = createApp(services, { bodyLimit: config.server.body_limit });

  // The port is bound before the chain starts, and requests wait until it has: a port in
  // use fails the start with nothing written, and no event precedes the genesis.
  let server: ServerType | undefined;
  let url = brokerUrl(config);
  if (options.listen !== false) {
    // Requests that arrive before the chain has started wait for it; if the start fails they
    // are answered 503 at once, so no connection holds the failing process open.
    let started = false;
    let failed = false;
    const waiting = new Set<() => void>();
    const settle = (ok: boolean) => {
      started = ok;
      failed = !ok;
      for (const wake of waiting) wake();
      waiting.clear();
    };
    // The node server's bindings (the socket, for the peer address) pass through.
    const gated: typeof app.fetch = async (req, ...rest) => {
      if (!started && !failed) await new Promise<void>((r) => waiting.add(r));
      if (failed) return new Response('the broker is not ready\n', { status: 503 });
      return app.fetch(req, ...rest);
    };
    const listening = await listen(gated, config).catch(async (err: unknown) => {
      // The chain never started: close the sinks without the bus, which would sign a checkpoint.
      for (const sink of sinks) await sink.close?.();
      return abandon(err);
    });
    server = listening.server;
    url = listening.url;
    try {
      await events.start();
    } catch (err) {
      // Waiting requests are answered 503 now; close() then ends idle keep-alive connections.
      settle(false);
      await new Promise<void>((r) => server?.close(() => r()));
      await events.close();
      return abandon(err);
    }
    settle(true);
  } else {
    try {
      await events.start();
    } catch (err) {
      await events.close();
      return abandon(err);
    }
  }
  ssf?.transmitter.start();
  if (options.reaper !== false) {
    reaper.start();
    sweeper.start();
    reviewSweep.start();
  }

  return {
    url,
    app,
    broker,
    store,
    events,
    revoker,
    verifier: proof.verifier,
    reaper,
    sweeper,
    reviewSweep,
    metrics,
    runtime: () => runtime,
    reload(next: BrokerConfig) {
      const built = build(next);
      const previous = runtime;
      runtime = built;
      const dropped = previous.sealer.keyIds.filter((id) => !built.sealer.keyIds.includes(id));
      if (dropped.length > 0) {
        logger.warn(
          { dropped },
          'encryption keys removed: handles sealed under them no longer open (keep a key until its leases have ended)',
        );
      }
      for (const p of previous.providers.values()) void p.close?.();
      for (const listener of reloadListeners) listener();
      void events.emit(
        { type: 'policy.reloaded', outcome: 'success', policy_hash: built.policy.hash },
        { failClosed: false },
      );
    },
    async close() {
      opened.stop();
      sweeper.stop();
      await reviewSweep.stop();
      await reaper.stop();
      revoker.flushInPlace();
      // Verifications in flight report before the chain's final checkpoint (bounded).
      await proof.verifier.idle(5_000);
      await ssf?.transmitter.stop();
      if (server) await new Promise<void>((r) => server?.close(() => r()));
      authFailures.close();
      await detections.close();
      await events.close();
      for (const p of runtime.providers.values()) await p.close?.();
      await store.close();
      metrics.close();
    },
  };
}
