import type { Cluster, Redis } from 'ioredis';
import { BrokerError } from '../errors.js';
import { slotTag } from '../lib/ids.js';
import { untilSoonestEnd } from './lib/retry-after.js';
import { Script } from './lib/script.js';
import * as lua from './scripts.js';
import type { BudgetCheck, BudgetStore, BudgetVerdict, StillLive } from './types.js';

/**
 * Budgets in Redis, under the broker's key prefix: every replica counts against the same
 * keys. A workload's counters carry its hash tag (like its lease keys); a policy's carry a
 * tag of its own name. One script runs per owner (so per Cluster slot), all owners at once:
 * a request with every budget costs two scripts before the lease is written and two after,
 * sent together in one round trip each by auto-pipelining.
 */
const ADMIT_REQUESTS = new Script(lua.ADMIT_REQUESTS);
const RETURN_REQUESTS = new Script(lua.RETURN_REQUESTS);
const RESERVE_LIVES = new Script(lua.RESERVE_LIVES);
const RELEASE_LIVES = new Script(lua.RELEASE_LIVES);

/** Owners whose slot tag is remembered (a tag is a SHA-256; owners are few and repeat). */
const TAG_CACHE_SIZE = 10_000;

/** The counters of one owner: they share a slot, so one script checks them together. */
interface Group {
  keys: string[];
  checks: BudgetCheck[];
}

export class RedisBudgetStore implements BudgetStore {
  readonly #redis: Redis | Cluster;
  readonly #prefix: string;
  readonly #tags = new Map<string, string>();

  constructor(redis: Redis | Cluster, keyPrefix: string) {
    this.#redis = redis;
    this.#prefix = keyPrefix;
  }

  #tag(owner: BudgetCheck['owner']): string {
    const name = 'workload' in owner ? owner.workload : `policy:${owner.policy}`;
    const known = this.#tags.get(name);
    if (known !== undefined) return known;
    if (this.#tags.size >= TAG_CACHE_SIZE) this.#tags.clear();
    const tag = slotTag(name);
    this.#tags.set(name, tag);
    return tag;
  }

  /** The checks grouped by slot, in the order their owners first appear. */
  #groups(kind: 'req' | 'live', checks: readonly BudgetCheck[]): Group[] {
    const groups: Group[] = [];
    const byTag = new Map<string, Group>();
    for (const check of checks) {
      const tag = this.#tag(check.owner);
      let group = byTag.get(tag);
      if (group === undefined) {
        group = { keys: [], checks: [] };
        byTag.set(tag, group);
        groups.push(group);
      }
      group.keys.push(`${this.#prefix}:{${tag}}:budget:${kind}:${check.counter}`);
      group.checks.push(check);
    }
    return groups;
  }

  async admitRequest(checks: readonly BudgetCheck[], windowMs: number): Promise<BudgetVerdict> {
    if (checks.length === 0) return { ok: true };
    return this.#guard(async () => {
      const window = String(windowMs);
      const groups = this.#groups('req', checks);
      // Each owner's counters are admitted all-or-nothing by one script; the owners that
      // admitted are given back when another refused, so a refused request is counted nowhere.
      const replies = (await Promise.all(
        groups.map((g) =>
          ADMIT_REQUESTS.run(this.#redis, g.keys, [
            window,
            ...g.checks.map((c) => String(c.limit)),
          ]),
        ),
      )) as [number, number?, number?][];
      const refused = replies.findIndex(([ok]) => ok !== 1);
      if (refused === -1) return { ok: true };
      await Promise.all(
        groups.map((g, i) =>
          replies[i]?.[0] === 1 ? RETURN_REQUESTS.run(this.#redis, g.keys, []) : undefined,
        ),
      );
      const [, index, left] = replies[refused] as [number, number?, number?];
      const check = (groups[refused] as Group).checks[(index ?? 1) - 1] as BudgetCheck;
      return { ok: false, budget: check.budget, retryAfterMs: Number(left ?? windowMs) };
    });
  }

  async reserveLive(
    leaseId: string,
    liveUntil: number,
    checks: readonly BudgetCheck[],
    stillLive: StillLive,
  ): Promise<BudgetVerdict> {
    if (checks.length === 0) return { ok: true };
    return this.#guard(async () => {
      const until = String(liveUntil);
      const groups = this.#groups('live', checks);
      const outcomes = await Promise.all(
        groups.map((g) => this.#reserveGroup(g, leaseId, until, stillLive)),
      );
      const refused = outcomes.findIndex((o) => o !== true);
      if (refused === -1) return { ok: true };
      await Promise.all(
        groups.map((g, i) =>
          outcomes[i] === true ? RELEASE_LIVES.run(this.#redis, g.keys, [leaseId]) : undefined,
        ),
      );
      return outcomes[refused] as Exclude<BudgetVerdict, { ok: true }>;
    });
  }

  /** True when held in every counter of the group; otherwise the refusal. */
  async #reserveGroup(
    group: Group,
    leaseId: string,
    until: string,
    stillLive: StillLive,
  ): Promise<true | Exclude<BudgetVerdict, { ok: true }>> {
    const args = [leaseId, until, ...group.checks.map((c) => String(c.limit))];
    let full: BudgetCheck = group.checks[0] as BudgetCheck;
    // A full counter's finished leases are dropped from every counter of the group (a
    // finished lease is finished for all), then all are tried again: each counter may be
    // the full one once.
    for (let attempt = 0; attempt <= group.keys.length; attempt++) {
      const [ok, index, members] = (await RESERVE_LIVES.run(this.#redis, group.keys, args)) as [
        number,
        number?,
        string[]?,
      ];
      if (ok === 1) return true;
      const at = (index ?? 1) - 1;
      full = group.checks[at] as BudgetCheck;
      const ids = members ?? [];
      const states = await stillLive(ids);
      const finished = ids.filter((_, i) => states[i]?.live === false);
      if (finished.length === 0) {
        return {
          ok: false,
          budget: full.budget,
          retryAfterMs: untilSoonestEnd(states, Date.now()),
        };
      }
      await Promise.all(group.keys.map((key) => this.#redis.zrem(key, ...finished)));
    }
    return { ok: false, budget: full.budget, retryAfterMs: 1_000 };
  }

  async #guard<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (cause) {
      // Fail closed: a budget nobody can read is a budget nobody may spend.
      throw new BrokerError('store_unavailable', 'budgets cannot be checked', {
        retryAfter: 2,
        cause,
      });
    }
  }
}
