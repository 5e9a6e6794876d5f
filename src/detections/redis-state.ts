import type { Cluster, Redis } from 'ioredis';
import { Script } from '../budgets/lib/script.js';
import { slotTag } from '../lib/ids.js';
import { RUN_OPERATIONS } from './scripts.js';
import type { DetectionState, Maybe, StateKey, WindowEntry } from './state.js';

const RUN = new Script(RUN_OPERATIONS);

/** Workloads whose slot tag is remembered (a tag is a SHA-256). */
const TAG_CACHE_SIZE = 10_000;

type Part = 'w' | 'h' | 'b' | 'c';

/**
 * How long (event time) a value this replica has recorded in a history counts as known
 * without asking Redis again. Steady traffic names the same targets, tools, scopes and
 * networks over and over: their histories then cost no round trip and no promise. The
 * price: Redis's last-seen time of such a value lags by at most this much (histories keep
 * values for days), and a value Redis has just dropped from a full history (512 items) may
 * pass as known for at most this long on this replica.
 */
export const KNOWN_FOR_MS = 60_000;
/** Histories whose known values are kept (each at most its own bound, 512). */
const KNOWN_CACHE_SIZE = 10_000;
const NOTHING_FRESH: string[] = [];

interface Pending {
  key: string;
  part: Part;
  args: string[];
  resolve(reply: unknown): void;
  reject(err: unknown): void;
}

/**
 * Detection state shared by every replica. Keys sit on the workload's slot tag like its
 * leases (`<prefix>:{T}:det:<rule>:<part>:<workload>`; rule names and workload ids hold no
 * `:`), and every key expires: a window after `window`, a history after `days`, buckets
 * after the baseline span, a cool-down when it ends. The operations asked for in one turn
 * of the event loop (every rule's, for one event) go to Redis as one script call per slot.
 */
export class RedisDetectionState implements DetectionState {
  readonly #redis: Redis | Cluster;
  readonly #prefix: string;
  readonly #tags = new Map<string, string>();
  /** Each history's values this replica recorded, with the event time it recorded them at. */
  readonly #known = new Map<string, Map<string, number>>();
  /** Key strings per (rule, workload) key object and part, made once. */
  readonly #keys = new WeakMap<StateKey, Partial<Record<Part, string>>>();
  #queue = new Map<string, Pending[]>();
  #scheduled = false;

  constructor(redis: Redis | Cluster, keyPrefix: string) {
    this.#redis = redis;
    this.#prefix = keyPrefix;
  }

  #tag(workload: string): string {
    let tag = this.#tags.get(workload);
    if (tag === undefined) {
      if (this.#tags.size >= TAG_CACHE_SIZE) this.#tags.clear();
      tag = slotTag(workload);
      this.#tags.set(workload, tag);
    }
    return tag;
  }

  key(key: StateKey, part: Part): string {
    let parts = this.#keys.get(key);
    if (parts === undefined) {
      parts = {};
      this.#keys.set(key, parts);
    }
    let name = parts[part];
    if (name === undefined) {
      name = `${this.#prefix}:{${this.#tag(key.workload)}}:det:${key.rule}:${part}:${key.workload}`;
      parts[part] = name;
    }
    return name;
  }

  #run(key: StateKey, part: Part, args: string[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const tag = this.#tag(key.workload);
      let group = this.#queue.get(tag);
      if (group === undefined) {
        group = [];
        this.#queue.set(tag, group);
      }
      group.push({ key: this.key(key, part), part, args, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => this.#flush());
      }
    });
  }

  #flush(): void {
    const groups = this.#queue;
    this.#queue = new Map();
    this.#scheduled = false;
    for (const group of groups.values()) {
      const argv: string[] = [];
      for (const p of group) argv.push(p.part, String(p.args.length), ...p.args);
      RUN.run(
        this.#redis,
        group.map((p) => p.key),
        argv,
      ).then(
        (replies) => {
          group.forEach((p, i) => {
            p.resolve((replies as unknown[])[i]);
          });
        },
        (err: unknown) => {
          for (const p of group) p.reject(err);
        },
      );
    }
  }

  async addToWindow(
    key: StateKey,
    entry: WindowEntry,
    windowMs: number,
    max: number,
  ): Promise<WindowEntry[]> {
    const member = `${entry.id}|${entry.seq}|${entry.instance}`;
    const reply = (await this.#run(key, 'w', [
      String(entry.at),
      String(entry.at - windowMs),
      member,
      String(max),
      String(windowMs),
    ])) as string[];
    const entries: WindowEntry[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const [id = '', seq = '0', instance = ''] = (reply[i] ?? '').split('|');
      entries.push({ id, seq: Number(seq), instance, at: Number(reply[i + 1]) });
    }
    return entries;
  }

  remember(
    key: StateKey,
    values: readonly string[],
    at: number,
    keepMs: number,
    max: number,
  ): Maybe<{ fresh: string[]; known: number }> {
    const name = this.key(key, 'h');
    const recorded = this.#known.get(name);
    if (recorded !== undefined && values.every((v) => knownAt(recorded.get(v), at))) {
      // Every value was recorded within KNOWN_FOR_MS: nothing is fresh, Redis need not say.
      return { fresh: NOTHING_FRESH, known: recorded.size };
    }
    return this.#run(key, 'h', [
      String(at),
      String(at - keepMs),
      String(max),
      String(keepMs),
      ...values,
    ]).then((reply) => {
      const [known, fresh] = reply as [number, string[]];
      this.#record(name, values, at, max);
      return { fresh, known: Number(known) };
    });
  }

  #record(name: string, values: readonly string[], at: number, max: number): void {
    let recorded = this.#known.get(name);
    if (recorded === undefined) {
      if (this.#known.size >= KNOWN_CACHE_SIZE) this.#known.clear();
      recorded = new Map();
      this.#known.set(name, recorded);
    }
    for (const value of values) {
      if (!recorded.has(value) && recorded.size >= max) recorded.clear();
      recorded.set(value, at);
    }
  }

  async countInBucket(
    key: StateKey,
    at: number,
    bucketMs: number,
    span: number,
  ): Promise<{ current: number; previous: number }> {
    const [current, previous] = (await this.#run(key, 'b', [
      String(Math.floor(at / bucketMs)),
      String(span),
      String(bucketMs * (span + 1)),
    ])) as [number, number];
    return { current: Number(current), previous: Number(previous) };
  }

  async startCooldown(key: StateKey, at: number, cooldownMs: number): Promise<boolean> {
    const started = await this.#run(key, 'c', [String(at), String(cooldownMs)]);
    return Number(started) === 1;
  }
}

/** Recorded at `recordedAt` and `at` is within KNOWN_FOR_MS after it (never before it). */
function knownAt(recordedAt: number | undefined, at: number): boolean {
  return recordedAt !== undefined && at >= recordedAt && at - recordedAt < KNOWN_FOR_MS;
}
