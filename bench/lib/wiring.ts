import { Writable } from 'node:stream';
import type { Provider } from '../../providers/provider.js';
import { Broker, type BrokerRuntime } from '../../src/broker/index.js';
import type { BrokerConfig } from '../../src/config/schema.js';
import { EventBus } from '../../src/events/bus.js';
import { redisStreamSink } from '../../src/events/sinks/redis-stream.js';
import { stdoutSink } from '../../src/events/sinks/stdout.js';
import type { EventEmitter } from '../../src/events/types.js';
import { Reaper } from '../../src/leases/reaper.js';
import { createRedisClient, waitReady } from '../../src/leases/redis-client.js';
import { RedisLeaseStore } from '../../src/leases/redis-store.js';
import { Revoker } from '../../src/leases/revoker.js';
import type { LeaseStore } from '../../src/leases/types.js';
import { createLogger } from '../../src/lib/logger.js';
import { Metrics } from '../../src/metrics.js';
import { buildRuntime } from '../../src/runtime.js';
import { storeSettings } from '../../src/server.js';
import {
  Probes,
  silentEmitter,
  TimedSealer,
  timedEmitter,
  timedProvider,
  timedSink,
  timedStore,
} from './probes.js';

/** Counts what is written to it and keeps the first lines (a log or event collector). */
export class Collector extends Writable {
  lines = 0;
  bytes = 0;
  readonly first: string[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    const text = chunk.toString('utf8');
    this.bytes += chunk.length;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      this.lines += 1;
      if (this.first.length < 5) this.first.push(line.slice(0, 300));
    }
    callback();
  }
}

export interface BenchBrokerOptions {
  config: BrokerConfig;
  /** Replaces the configured targets: a provider no configuration can express. */
  providers?: ReadonlyMap<string, Provider>;
  /** `off` replaces the event bus with a no-op, to measure what signing events costs. */
  events?: 'signed' | 'off';
}

export interface BenchBroker {
  broker: Broker;
  /** The store as the broker sees it (every call timed). */
  store: LeaseStore;
  /** The same store without timing, for setup and checks. */
  rawStore: LeaseStore;
  revoker: Revoker;
  /** The configured targets as built from the config, without probes (to mint a template). */
  configured: ReadonlyMap<string, Provider>;
  events: EventBus;
  sealer: TimedSealer;
  probes: Probes;
  logs: Collector;
  eventsOut: Collector;
  newReaper(): Reaper;
  close(): Promise<void>;
}

/**
 * A broker wired the way `startBroker` (src/server.ts) wires it, minus HTTP, with probes
 * around the store, the event bus, the sinks, the sealer and the providers.
 */
export async function assembleBroker(options: BenchBrokerOptions): Promise<BenchBroker> {
  const { config } = options;
  const redisUrl = new URL(config.redis.url);
  const runtime = buildRuntime(config, {
    providerContext: {
      brokerUrl: config.server.public_url ?? 'https://broker.bench.example',
      ownRedis: [{ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) }],
    },
  });
  const probes = new Probes();
  const logs = new Collector();
  const eventsOut = new Collector();
  const logger = createLogger({ level: 'warn', destination: logs });
  const metrics = new Metrics();

  const redis = createRedisClient(config.redis);
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  await waitReady(redis, 10_000);
  const rawStore = new RedisLeaseStore(redis, config.redis.key_prefix, {
    ...storeSettings(config),
    // As src/server.ts wires it: targets whose credential is the lease state revoke in place.
    inPlaceTargets: () =>
      new Set(
        [...(options.providers ?? runtime.providers).values()]
          .filter((p) => p.revocationIsLeaseState)
          .map((p) => p.target),
      ),
  });
  const store = timedStore(rawStore, probes);

  const events = new EventBus({
    sinks: [
      timedSink(
        stdoutSink({
          format: config.events.stdout.format,
          mode: config.events.stdout.mode,
          stream: eventsOut,
        }),
        probes,
      ),
      timedSink(
        redisStreamSink({
          client: redis,
          stream: `${config.redis.key_prefix}:${config.events.redis_stream.stream}`,
          retentionMs: config.events.redis_stream.retention,
          format: config.events.redis_stream.format,
          mode: config.events.redis_stream.mode,
          name: 'redis-stream',
        }),
        probes,
      ),
    ],
    onError: (sink, err) => logger.warn({ sink, err: String(err) }, 'event sink problem'),
  });
  await events.start();
  const emitter: EventEmitter =
    options.events === 'off' ? silentEmitter : timedEmitter(events, probes);

  const sealer = new TimedSealer(
    config.encryption.keys.map((k) => ({ id: k.id, key: Buffer.from(k.key, 'base64') })),
    probes,
  );
  const providers = new Map<string, Provider>();
  for (const [name, provider] of options.providers ?? runtime.providers) {
    providers.set(name, timedProvider(provider, probes));
  }
  const brokerRuntime: BrokerRuntime = {
    workloads: runtime.workloads,
    providers,
    policy: runtime.policy,
  };

  const revoker = new Revoker({
    store,
    providers: () => providers,
    sealer: () => sealer,
    events: emitter,
    metrics,
    logger,
    backoffBaseMs: config.leases.reaper.backoff_base,
    backoffMaxMs: config.leases.reaper.backoff_max,
  });
  const broker = new Broker({
    store,
    sealer: () => sealer,
    events: emitter,
    revoker,
    metrics,
    logger,
    runtime: () => brokerRuntime,
    killSwitchDeadlineMs: config.leases.kill_switch_deadline,
  });

  return {
    broker,
    store,
    rawStore,
    revoker,
    configured: runtime.providers,
    events,
    sealer,
    probes,
    logs,
    eventsOut,
    newReaper: () =>
      new Reaper({
        store,
        revoker,
        logger,
        metrics,
        intervalMs: config.leases.reaper.interval,
        batch: config.leases.reaper.batch,
      }),
    async close() {
      await events.close();
      for (const provider of runtime.providers.values()) await provider.close?.();
      await rawStore.close();
    },
  };
}
