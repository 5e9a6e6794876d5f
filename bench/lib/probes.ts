import { performance } from 'node:perf_hooks';
import type { Provider } from '../../providers/provider.js';
import type { EventSink } from '../../src/events/sink.js';
import type { EventEmitter } from '../../src/events/types.js';
import { HandleSealer } from '../../src/leases/sealing.js';
import type { LeaseStore } from '../../src/leases/types.js';

/** Calls and summed milliseconds of one measured operation. */
export class Timing {
  calls = 0;
  ms = 0;

  add(ms: number): void {
    this.calls += 1;
    this.ms += ms;
  }

  get meanMs(): number {
    return this.calls === 0 ? 0 : this.ms / this.calls;
  }
}

class TimingMap {
  readonly #timings = new Map<string, Timing>();

  get(name: string): Timing {
    let timing = this.#timings.get(name);
    if (!timing) {
      timing = new Timing();
      this.#timings.set(name, timing);
    }
    return timing;
  }

  entries(): [string, Timing][] {
    return [...this.#timings];
  }

  clear(): void {
    this.#timings.clear();
  }
}

/**
 * Where the broker spends its time. `*Sync` timings are event-loop time (CPU on the one
 * Node thread); the others are wall-clock latencies of concurrent calls, which overlap.
 */
export class Probes {
  /** Latency of each LeaseStore method (Redis round trips and Lua, as the caller sees it). */
  readonly store = new TimingMap();
  /** Synchronous part of `EventBus.emit`: redaction, canonical JSON, Ed25519 signature, hash. */
  readonly emitSync = new Timing();
  /** Synchronous part of each sink's `write` (serialisation) and its latency. */
  readonly sinkSync = new TimingMap();
  readonly sinkWall = new TimingMap();
  /** AES-256-GCM opening of sealed handles. */
  readonly sealerOpen = new Timing();
  readonly providerSync = new Timing();
  readonly providerWall = new Timing();

  reset(): void {
    this.store.clear();
    this.sinkSync.clear();
    this.sinkWall.clear();
    for (const t of [this.emitSync, this.sealerOpen, this.providerSync, this.providerWall]) {
      t.calls = 0;
      t.ms = 0;
    }
  }
}

/** The store with every method's latency recorded (methods run with the real store as `this`). */
export function timedStore(store: LeaseStore, probes: Probes): LeaseStore {
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        const start = performance.now();
        const result: unknown = value.apply(target, args);
        if (!(result instanceof Promise)) return result;
        const timing = probes.store.get(property);
        return result.finally(() => timing.add(performance.now() - start));
      };
    },
  });
}

export function timedEmitter(events: EventEmitter, probes: Probes): EventEmitter {
  return {
    emit(event, options) {
      const start = performance.now();
      const done = events.emit(event, options);
      probes.emitSync.add(performance.now() - start);
      return done;
    },
  };
}

/** Chaining and signing happen inside `emit`; this measures what is left when events are off. */
export const silentEmitter: EventEmitter = {
  emit: async () => {},
};

export function timedSink(sink: EventSink, probes: Probes): EventSink {
  const sync = probes.sinkSync;
  const wall = probes.sinkWall;
  return {
    name: sink.name,
    mode: sink.mode,
    write(events) {
      const start = performance.now();
      const done = sink.write(events);
      sync.get(sink.name).add(performance.now() - start);
      return done.finally(() => wall.get(sink.name).add(performance.now() - start));
    },
    ...(sink.close === undefined ? {} : { close: () => sink.close?.() ?? Promise.resolve() }),
  };
}

export function timedProvider(provider: Provider, probes: Probes): Provider {
  return new Proxy(provider, {
    get(target, property) {
      if (property !== 'revoke') return Reflect.get(target, property, target);
      return (handle: Record<string, unknown>, leaseId: string) => {
        const start = performance.now();
        const done = target.revoke(handle, leaseId);
        probes.providerSync.add(performance.now() - start);
        return done.finally(() => probes.providerWall.add(performance.now() - start));
      };
    },
  });
}

export class TimedSealer extends HandleSealer {
  readonly #probes: Probes;

  constructor(keys: ConstructorParameters<typeof HandleSealer>[0], probes: Probes) {
    super(keys);
    this.#probes = probes;
  }

  override open(leaseId: string, sealed: string): Record<string, unknown> {
    const start = performance.now();
    try {
      return super.open(leaseId, sealed);
    } finally {
      this.#probes.sealerOpen.add(performance.now() - start);
    }
  }
}

export interface ProcessUsage {
  wallMs: number;
  /** CPU of this process (all its threads: the event loop, libuv pool, GC helpers). */
  cpuMs: number;
  /** Event-loop utilisation, 0…1: near 1 means the Node thread was the bottleneck. */
  elu: number;
}

export function processWindow(): () => ProcessUsage {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  return () => {
    const used = process.cpuUsage(cpu);
    return {
      wallMs: performance.now() - start,
      cpuMs: (used.user + used.system) / 1000,
      elu: performance.eventLoopUtilization(elu).utilization,
    };
  };
}
