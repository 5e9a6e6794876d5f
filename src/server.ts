import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ServerType, serve } from '@hono/node-server';
import type { Cluster, Redis } from 'ioredis';
import { loadProviderModules } from '../providers/module/index.js';
import type { ProviderContext } from '../providers/provider.js';
import type { ApiServices } from './api/context.js';
import { createApp } from './app.js';
import { Broker } from './broker/index.js';
import type { BrokerConfig } from './config/schema.js';
import { EventBus } from './events/bus.js';
import type { EventSink } from './events/sink.js';
import { httpSink } from './events/sinks/http.js';
import { redisStreamSink, streamGroups } from './events/sinks/redis-stream.js';
import { stdoutSink } from './events/sinks/stdout.js';
import { syslogSink } from './events/sinks/syslog.js';
import type { EventEmitter } from './events/types.js';
import { MemoryReplayGuard, RedisReplayGuard, type ReplayGuard } from './identity/replay-guard.js';
import { MemoryLeaseStore } from './leases/memory-store.js';
import { Reaper } from './leases/reaper.js';
import {
  createRedisClient,
  type Endpoint,
  listpackValueLimit,
  RECOMMENDED_LISTPACK_VALUE,
  serversWithoutAof,
  storeEndpoints,
  waitReady,
} from './leases/redis-client.js';
import { RedisLeaseStore } from './leases/redis-store.js';
import { Revoker, safeMessage } from './leases/revoker.js';
import { Sweeper } from './leases/sweeper.js';
import type { LeaseStore, StoreSettings } from './leases/types.js';
import type { Logger } from './lib/logger.js';
import { Metrics } from './metrics.js';
import { buildRuntime, type Runtime } from './runtime.js';

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
  /** Refuse to start when Redis keeps no AOF (also `redis.require_aof`). */
  requireAof?: boolean;
  /** Load `provider: module` targets' code (`serve --allow-provider-modules`). */
  allowProviderModules?: boolean;
  /** Relative module paths resolve against this (the config file's folder). */
  baseDir?: string;
}

export interface RunningBroker {
  url: string;
  app: ReturnType<typeof createApp>;
  broker: Broker;
  store: LeaseStore;
  events: EventBus;
  reaper: Reaper;
  sweeper: Sweeper;
  metrics: Metrics;
  runtime(): Runtime;
  /** Swaps policies, workloads, issuers and targets atomically (SIGHUP). */
  reload(config: BrokerConfig): void;
  close(): Promise<void>;
}

export function storeSettings(config: BrokerConfig): StoreSettings {
  return {
    retentionMs: config.leases.retention,
    pendingTimeoutMs: config.leases.pending_timeout,
    claimTimeoutMs: config.leases.reaper.claim_timeout,
    maxAttempts: config.leases.reaper.max_attempts,
    failedRetryMs: config.leases.reaper.backoff_max,
  };
}

function providerContext(
  config: BrokerConfig,
  modules?: ProviderContext['modules'],
  discovered: readonly Endpoint[] = [],
): ProviderContext {
  const url = new URL(config.redis.url);
  const own = [
    // In sentinel mode the URL's host is never connected to: the sentinels name the servers.
    ...(config.redis.mode === 'sentinel'
      ? []
      : [{ host: url.hostname, port: Number(url.port || 6379) }]),
    ...(config.redis.nodes ?? []),
    ...discovered,
  ];
  const scheme = config.server.tls ? 'https' : 'http';
  return {
    brokerUrl:
      config.server.public_url ?? `${scheme}://${config.server.host}:${config.server.port}`,
    ownRedis: own,
    ...(modules === undefined ? {} : { modules }),
  };
}

/** Wires and starts a broker: the shared path of `serve`, `dev` and the integration tests. */
export async function startBroker(options: StartOptions): Promise<RunningBroker> {
  const { config, logger } = options;
  const metrics = new Metrics();
  const settings: StoreSettings = {
    ...storeSettings(config),
    // `runtime` is assigned below, before the store is first used.
    inPlaceTargets: () =>
      new Set(
        [...runtime.providers.values()]
          .filter((p) => p.revocationIsLeaseState)
          .map((p) => p.target),
      ),
  };

  let redis: Redis | Cluster | undefined;
  let store: LeaseStore;
  let storeNodes: Endpoint[] = [];
  if (options.store === 'redis') {
    redis = createRedisClient(config.redis);
    redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
    try {
      await waitReady(redis, 10_000);
    } catch (err) {
      redis.disconnect();
      throw new Error(`cannot reach Redis at ${redisWhere(config.redis)}: ${safeMessage(err)}`);
    }
    let withoutAof: string[];
    try {
      withoutAof = await serversWithoutAof(redis, config.redis);
    } catch (err) {
      redis.disconnect();
      throw new Error(`cannot check Redis persistence: ${safeMessage(err)}`);
    }
    if (withoutAof.length > 0) {
      const where = withoutAof.join(', ');
      if (options.requireAof || config.redis.require_aof) {
        redis.disconnect();
        throw new Error(
          `Redis keeps no append-only file (appendonly no) on ${where} and redis.require_aof is set`,
        );
      }
      logger.warn(
        `Redis keeps no append-only file on ${where}: a Redis restart loses every lease record there (set appendonly yes)`,
      );
    }
    const listpack = await listpackValueLimit(redis);
    if (listpack !== undefined && listpack < RECOMMENDED_LISTPACK_VALUE) {
      logger.warn(
        `Redis hash-max-listpack-value is ${listpack}: set it to ${RECOMMENDED_LISTPACK_VALUE} to keep lease records compact (about 35 % less memory per lease)`,
      );
    }
    try {
      storeNodes = await storeEndpoints(redis, config.redis);
    } catch (err) {
      redis.disconnect();
      throw new Error(`cannot tell which servers hold the lease store: ${safeMessage(err)}`);
    }
    const redisStore = new RedisLeaseStore(redis, config.redis.key_prefix, settings);
    try {
      await redisStore.claimLayout();
    } catch (err) {
      redis.disconnect();
      throw err;
    }
    store = redisStore;
  } else {
    store = new MemoryLeaseStore(settings);
  }
  const replayGuard: ReplayGuard = redis
    ? new RedisReplayGuard(redis, config.redis.key_prefix)
    : new MemoryReplayGuard();
  const modules = options.allowProviderModules
    ? await loadProviderModules(
        config.targets,
        (path) => pathToFileURL(resolve(options.baseDir ?? process.cwd(), path)).href,
      )
    : undefined;
  const runtimeOptions = (next: BrokerConfig) => ({
    providerContext: providerContext(next, modules, storeNodes),
    replayGuard,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  let runtime: Runtime;
  try {
    runtime = buildRuntime(config, runtimeOptions(config));
  } catch (err) {
    await store.close();
    throw err;
  }

  const sinks: EventSink[] = [];
  if (config.events.stdout.enabled) {
    sinks.push(
      stdoutSink({
        format: config.events.stdout.format,
        mode: config.events.stdout.mode,
        ...(options.eventsOut === undefined ? {} : { stream: options.eventsOut as never }),
      }),
    );
  }
  if (redis && config.events.redis_stream.enabled) {
    const client = redis;
    const stream = `${config.redis.key_prefix}:${config.events.redis_stream.stream}`;
    metrics.watchEventStream(() => streamGroups(client, stream));
    sinks.push(
      redisStreamSink({
        client: redis,
        stream: `${config.redis.key_prefix}:${config.events.redis_stream.stream}`,
        retentionMs: config.events.redis_stream.retention,
        format: config.events.redis_stream.format,
        mode: config.events.redis_stream.mode,
        name: 'redis-stream',
      }),
    );
  }
  sinks.push(...extraSinks(config.events));
  const events = new EventBus({
    sinks,
    onError: (sink, err) => logger.warn({ sink, err: safeMessage(err) }, 'event sink problem'),
  });
  await events.start();
  // Every event names the policy set in force: issuance and lease events their own (the
  // decision's or the lease's), every other one the set loaded when it happened.
  const stamped: EventEmitter = {
    emit: (event, options) =>
      events.emit(
        event.policy_hash === undefined ? { ...event, policy_hash: runtime.policy.hash } : event,
        options,
      ),
  };

  const revoker = new Revoker({
    store,
    providers: () => runtime.providers,
    sealer: () => runtime.sealer,
    events: stamped,
    metrics,
    logger,
    backoffBaseMs: config.leases.reaper.backoff_base,
    backoffMaxMs: config.leases.reaper.backoff_max,
  });
  const broker = new Broker({
    store,
    sealer: () => runtime.sealer,
    events: stamped,
    revoker,
    metrics,
    logger,
    runtime: () => runtime,
    killSwitchDeadlineMs: config.leases.kill_switch_deadline,
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
  if (options.reaper !== false) {
    reaper.start();
    sweeper.start();
  }
  // Replicas come and go, and failovers move the primary: what providers must stay away from
  // is read again every 30 s (a reload uses the latest list).
  const endpointRefresh =
    redis && config.redis.mode !== 'standalone'
      ? setInterval(() => {
          storeEndpoints(redis, config.redis).then(
            (found) => {
              storeNodes = found;
            },
            (err: unknown) =>
              logger.warn({ err: safeMessage(err) }, 'could not refresh the lease store servers'),
          );
        }, ENDPOINT_REFRESH_MS)
      : undefined;
  endpointRefresh?.unref();

  const services: ApiServices = {
    broker,
    identity: () => runtime.identity,
    operators: () => runtime.operators,
    events: stamped,
    subscribe: (listener) => events.subscribe(listener),
    metrics,
    logger,
    jwks: () => [...runtime.providers.values()].flatMap((p) => p.publicJwks?.() ?? []),
    readiness: async () => {
      const checks: Record<string, { ok: boolean; detail?: string }> = {};
      let ok = true;
      try {
        await store.ping();
        checks.lease_store = { ok: true };
      } catch (err) {
        ok = false;
        checks.lease_store = { ok: false, detail: safeMessage(err) };
      }
      await Promise.all(
        [...runtime.providers.values()].map(async (p) => {
          try {
            const health = await p.check();
            checks[`target:${p.target}`] =
              health.detail === undefined
                ? { ok: health.ok }
                : { ok: health.ok, detail: health.detail };
          } catch (err) {
            checks[`target:${p.target}`] = { ok: false, detail: safeMessage(err) };
          }
        }),
      );
      return { ok, checks };
    },
    ...(config.server.metrics_token === undefined
      ? {}
      : { metricsToken: config.server.metrics_token }),
    trustProxy: config.server.trust_proxy,
  };
  const app = createApp(services, { bodyLimit: config.server.body_limit });

  let server: ServerType | undefined;
  let url = providerContext(config).brokerUrl;
  if (options.listen !== false) {
    server = await listen(app.fetch, config);
    const address = server.address() as AddressInfo;
    url = `${config.server.tls ? 'https' : 'http'}://${config.server.host}:${address.port}`;
  }

  return {
    url,
    app,
    broker,
    store,
    events,
    reaper,
    sweeper,
    metrics,
    runtime: () => runtime,
    reload(next: BrokerConfig) {
      const built = buildRuntime(next, runtimeOptions(next));
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
      void events.emit(
        { type: 'policy.reloaded', outcome: 'success', policy_hash: built.policy.hash },
        { failClosed: false },
      );
    },
    async close() {
      clearInterval(endpointRefresh);
      sweeper.stop();
      await reaper.stop();
      revoker.flushInPlace();
      if (server) await new Promise<void>((resolve) => server?.close(() => resolve()));
      await events.close();
      for (const p of runtime.providers.values()) await p.close?.();
      await store.close();
    },
  };
}

async function listen(
  fetch: (req: Request) => Response | Promise<Response>,
  config: BrokerConfig,
): Promise<ServerType> {
  const tls = config.server.tls;
  return new Promise<ServerType>((resolve, reject) => {
    const server = serve(
      {
        fetch,
        port: config.server.port,
        hostname: config.server.host,
        ...(tls
          ? {
              createServer: createHttpsServer,
              serverOptions: { cert: readFileSync(tls.cert), key: readFileSync(tls.key) },
            }
          : {}),
      },
      () => resolve(server),
    );
    server.once('error', reject);
  });
}

const ENDPOINT_REFRESH_MS = 30_000;

/** The configured webhook, Splunk HEC and syslog sinks. */
function extraSinks(events: BrokerConfig['events']): EventSink[] {
  const http = events.http.map((sink) =>
    httpSink({
      name: sink.name,
      url: sink.url,
      kind: sink.kind,
      format: sink.format,
      mode: sink.mode,
      timeoutMs: sink.timeout,
      ...(sink.token === undefined ? {} : { token: sink.token }),
      ...(sink.headers === undefined ? {} : { headers: sink.headers }),
      ...(sink.hec === undefined
        ? {}
        : {
            hec: {
              ack: sink.hec.ack,
              ackTimeoutMs: sink.hec.ack_timeout,
              ...(sink.hec.index === undefined ? {} : { index: sink.hec.index }),
              ...(sink.hec.source === undefined ? {} : { source: sink.hec.source }),
              ...(sink.hec.sourcetype === undefined ? {} : { sourcetype: sink.hec.sourcetype }),
              ...(sink.hec.channel === undefined ? {} : { channel: sink.hec.channel }),
            },
          }),
    }),
  );
  const syslog = events.syslog.map((sink) =>
    syslogSink({
      name: sink.name,
      host: sink.host,
      port: sink.port,
      transport: sink.transport,
      format: sink.format,
      mode: sink.mode,
      facility: sink.facility,
      appName: sink.app_name,
      timeoutMs: sink.timeout,
      ...(sink.tls === undefined
        ? {}
        : {
            tls: {
              rejectUnauthorized: sink.tls.reject_unauthorized,
              ...(sink.tls.ca === undefined ? {} : { ca: sink.tls.ca }),
              ...(sink.tls.servername === undefined ? {} : { servername: sink.tls.servername }),
            },
          }),
    }),
  );
  return [...http, ...syslog];
}

/** Where the broker looks for Redis, for an error message (no password). */
function redisWhere(config: BrokerConfig['redis']): string {
  if (config.mode === 'sentinel' && config.sentinel) {
    const at = config.sentinel.sentinels.map((s) => `${s.host}:${s.port}`).join(', ');
    return `"${config.sentinel.name}" via sentinels ${at}`;
  }
  return redactUrl(config.url);
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}
