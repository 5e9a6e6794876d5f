import type { Cluster, Redis } from 'ioredis';
import { Script } from '../budgets/lib/script.js';
import { slotTag } from '../lib/ids.js';
import { RUN_OPERATIONS } from './scripts.js';
import type { DetectionState, StateKey, WindowEntry } from './state.js';

const RUN = new Script(RUN_OPERATIONS);

/** Workloads whose slot tag is remembered (a tag is a SHA-256). */
const TAG_CACHE_SIZE = 10_000;

type Part = 'w' | 'h' | 'b' | 'c';

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
    return `${this.#prefix}:{${this.#tag(key.workload)}}:det:${key.rule}:${part}:${key.workload}`;
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

  async remember(
    key: StateKey,
    values: readonly string[],
    at: number,
    keepMs: number,
    max: number,
  ): Promise<{ fresh: string[]; known: number }> {
    const [known, fresh] = (await this.#run(key, 'h', [
      String(at),
      String(at - keepMs),
      String(max),
      String(keepMs),
      ...values,
    ])) as [number, string[]];
    return { fresh, known: Number(known) };
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
