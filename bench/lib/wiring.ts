import { Writable } from 'node:stream';
import type { Provider } from '../../providers/provider.js';
import type { Broker } from '../../src/broker/index.js';
import type { BrokerConfig } from '../../src/config/schema.js';
import type { EventBus } from '../../src/events/bus.js';
import type { Reaper } from '../../src/leases/reaper.js';
import type { Revoker } from '../../src/leases/revoker.js';
import type { LeaseStore } from '../../src/leases/types.js';
import { createLogger } from '../../src/lib/logger.js';
import { startBroker } from '../../src/server.js';
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
  /** The broker's own reaper (not started: the benchmark starts it when it wants it). */
  reaper: Reaper;
  close(): Promise<void>;
}

/**
 * A broker wired by `startBroker` itself (no HTTP, no reaper running), with probes around
 * the store, the event bus, the sinks, the sealer and the providers through its
 * instrumentation hooks: what is measured is the production wiring, not a copy of it.
 */
export async function assembleBroker(options: BenchBrokerOptions): Promise<BenchBroker> {
  const { config } = options;
  const probes = new Probes();
  const logs = new Collector();
  const eventsOut = new Collector();
  const sealer = new TimedSealer(
    config.encryption.keys.map((k) => ({ id: k.id, key: Buffer.from(k.key, 'base64') })),
    probes,
  );
  let rawStore: LeaseStore | undefined;
  let configured: ReadonlyMap<string, Provider> = new Map();
  const running = await startBroker({
    config,
    store: 'redis',
    logger: createLogger({ level: 'warn', destination: logs }),
    eventsOut,
    listen: false,
    reaper: false,
    instrument: {
      store: (store) => {
        rawStore = store;
        return timedStore(store, probes);
      },
      sink: (sink) => timedSink(sink, probes),
      events: (emitter) =>
        options.events === 'off' ? silentEmitter : timedEmitter(emitter, probes),
      runtime: (runtime) => {
        configured = runtime.providers;
        const providers = new Map<string, Provider>();
        for (const [name, provider] of options.providers ?? runtime.providers) {
          providers.set(name, timedProvider(provider, probes));
        }
        return { ...runtime, providers, sealer };
      },
    },
  });
  if (rawStore === undefined) throw new Error('startBroker built no store');
  return {
    broker: running.broker,
    store: running.store,
    rawStore,
    revoker: running.revoker,
    configured,
    events: running.events,
    sealer,
    probes,
    logs,
    eventsOut,
    reaper: running.reaper,
    close: () => running.close(),
  };
}
