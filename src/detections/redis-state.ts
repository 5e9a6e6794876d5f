import type { Cluster, Redis } from 'ioredis';
import { Script } from '../budgets/lib/script.js';
import { slotTag } from '../lib/ids.js';
import * as lua from './scripts.js';
import type { DetectionState, StateKey, WindowEntry } from './state.js';

const ADD_TO_WINDOW = new Script(lua.ADD_TO_WINDOW);
const REMEMBER = new Script(lua.REMEMBER);
const COUNT_IN_BUCKET = new Script(lua.COUNT_IN_BUCKET);
const START_COOLDOWN = new Script(lua.START_COOLDOWN);

/** Workloads whose slot tag is remembered (a tag is a SHA-256). */
const TAG_CACHE_SIZE = 10_000;

/**
 * Detection state shared by every replica. Keys sit on the workload's slot tag like its
 * leases (`<prefix>:{T}:det:<rule>:<part>:<workload>`; rule names and workload ids hold no
 * `:`), each operation is one script, and every key expires: a window after `window`, a
 * history after `days`, buckets after the baseline span, a cool-down when it ends.
 */
export class RedisDetectionState implements DetectionState {
  readonly #redis: Redis | Cluster;
  readonly #prefix: string;
  readonly #tags = new Map<string, string>();

  constructor(redis: Redis | Cluster, keyPrefix: string) {
    this.#redis = redis;
    this.#prefix = keyPrefix;
  }

  key(key: StateKey, part: 'w' | 'h' | 'b' | 'c'): string {
    let tag = this.#tags.get(key.workload);
    if (tag === undefined) {
      if (this.#tags.size >= TAG_CACHE_SIZE) this.#tags.clear();
      tag = slotTag(key.workload);
      this.#tags.set(key.workload, tag);
    }
    return `${this.#prefix}:{${tag}}:det:${key.rule}:${part}:${key.workload}`;
  }

  async addToWindow(
    key: StateKey,
    entry: WindowEntry,
    windowMs: number,
    max: number,
  ): Promise<WindowEntry[]> {
    const member = `${entry.id}|${entry.seq}|${entry.instance}`;
    const reply = (await ADD_TO_WINDOW.run(
      this.#redis,
      [this.key(key, 'w')],
      [String(entry.at), String(entry.at - windowMs), member, String(max), String(windowMs)],
    )) as string[];
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
    const [known, fresh] = (await REMEMBER.run(
      this.#redis,
      [this.key(key, 'h')],
      [String(at), String(at - keepMs), String(max), String(keepMs), ...values],
    )) as [number, string[]];
    return { fresh, known: Number(known) };
  }

  async countInBucket(
    key: StateKey,
    at: number,
    bucketMs: number,
    span: number,
  ): Promise<{ current: number; previous: number }> {
    const [current, previous] = (await COUNT_IN_BUCKET.run(
      this.#redis,
      [this.key(key, 'b')],
      [String(Math.floor(at / bucketMs)), String(span), String(bucketMs * (span + 1))],
    )) as [number, number];
    return { current: Number(current), previous: Number(previous) };
  }

  async startCooldown(key: StateKey, at: number, cooldownMs: number): Promise<boolean> {
    const started = await START_COOLDOWN.run(
      this.#redis,
      [this.key(key, 'c')],
      [String(at), String(cooldownMs)],
    );
    return Number(started) === 1;
  }
}
