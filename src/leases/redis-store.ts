/*
 * Longer than most files on purpose: this is one class implementing the whole `LeaseStore`
 * contract for Redis, each method a thin call of one Lua script (`scripts.ts`) plus the
 * decoding of its reply. Split across files, the contract would be too, and the conformance
 * suite tests it as one piece.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { BrokerError } from '../errors.js';
import { isLeaseId, newLeaseId, slotTag, slotTagOf } from '../lib/ids.js';
import { poolRandomBytes } from '../lib/random-pool.js';
import { type CensusRow, tallyCensus } from './census.js';
import { decodeLease, decodePositional, newLeaseFields } from './codec.js';
import { LeaseKeys } from './keys.js';
import { decodeCursor, encodeCursor, matchesFilter } from './listing.js';
import * as lua from './scripts.js';
import type {
  ActivateResult,
  Claim,
  FinishResult,
  IssuanceFreeze,
  Lease,
  LeaseCensus,
  LeaseFilter,
  LeasePage,
  LeaseStore,
  NewLease,
  RevokeOutcome,
  RevokeReason,
  RevokeRequest,
  StoreSettings,
  WorkloadRevocation,
  WorkloadSummary,
} from './types.js';
import { LEASE_STATES } from './types.js';

export type RedisClient = Redis | Cluster;

class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

const SCRIPTS = {
  create: new Script(lua.CREATE),
  createHinted: new Script(lua.CREATE_HINTED),
  activate: new Script(lua.ACTIVATE),
  activateHinted: new Script(lua.ACTIVATE_HINTED),
  requestRevoke: new Script(lua.REQUEST_REVOKE),
  finish: new Script(lua.FINISH),
  dueIds: new Script(lua.DUE_IDS),
  extend: new Script(lua.EXTEND),
  claimDue: new Script(lua.CLAIM_DUE),
  revokeWorkload: new Script(lua.REVOKE_WORKLOAD),
  hintDue: new Script(lua.HINT_DUE),
  hintTake: new Script(lua.HINT_TAKE),
  time: new Script(lua.TIME),
  census: new Script(lua.CENSUS),
} as const;

/** Server replies that mean "Redis cannot serve right now", not a bug of ours. */
const UNAVAILABLE = /^(LOADING|CLUSTERDOWN|MASTERDOWN|READONLY|TRYAGAIN|BUSY|NOREPLICAS)/;

/** The key layout this store reads and writes (`keys.ts`); stored under `<prefix>:layout`. */
const LAYOUT = '2';

/** Keys per script call when revoking many leases of one workload. */
const CHUNK = 500;

/** Lease records one census script reads, so none holds Redis for more than a few ms. */
const CENSUS_SLICE = 1_000;

function claimToken(): string {
  return poolRandomBytes(12).toString('base64url');
}

/** Many claim tokens from one random draw (the kill switch claims thousands at once). */
function claimTokens(n: number): string[] {
  const buf = randomBytes(12 * n);
  return Array.from({ length: n }, (_, i) =>
    buf.subarray(i * 12, i * 12 + 12).toString('base64url'),
  );
}

/**
 * The production lease store. See `scripts.ts` for the transitions and `keys.ts` for the
 * key layout; `memory-store.ts` implements the same contract for dev mode and unit tests.
 */
export class RedisLeaseStore implements LeaseStore {
  readonly #redis: RedisClient;
  readonly #keys: LeaseKeys;
  readonly #settings: StoreSettings;
  /**
   * One node (standalone or Sentinel): the reaper's hints are written inside the lease's
   * create and activate scripts, one round trip each. On Cluster they sit on other slots.
   */
  readonly #oneNode: boolean;

  constructor(redis: RedisClient, prefix: string, settings: StoreSettings) {
    this.#redis = redis;
    this.#keys = new LeaseKeys(prefix);
    this.#settings = settings;
    this.#oneNode = !redis.isCluster;
  }

  async #eval(
    script: Script,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    try {
      try {
        return await this.#redis.evalsha(script.sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        return await this.#redis.eval(script.source, keys.length, ...keys, ...args);
      }
    } catch (err) {
      throw unavailable(err);
    }
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw unavailable(err);
    }
  }

  async now(): Promise<number> {
    return Number(await this.#eval(SCRIPTS.time, [this.#keys.frozen], []));
  }

  async create(input: NewLease): Promise<Lease> {
    const w = input.workload;
    const id = newLeaseId(w);
    const k = this.#keys;
    const args = [
      id,
      input.ttlMs,
      input.maxTtlMs,
      this.#settings.pendingTimeoutMs,
      input.maxLive,
    ] as const;
    const keys = [k.lease(id), k.due(w), k.meta(w), k.task(w, input.task.id)];
    if (this.#oneNode) {
      // The hints are written by the script itself, atomically with the lease.
      const reply = (await this.#eval(
        SCRIPTS.createHinted,
        [...keys, k.workloads, k.hint],
        [...args, w, ...newLeaseFields(input)],
      )) as [string, string?, string[]?];
      return this.#created(w, id, reply, input.maxLive);
    }
    // The hints go first: a crash after the lease is written must still leave the reaper a
    // way to find it.
    await this.#call(() =>
      Promise.all([
        this.#redis.sadd(k.workloads, w),
        this.#redis.zadd(k.hint, 'LT', Date.now() + this.#settings.pendingTimeoutMs, w),
      ]),
    );
    const reply = (await this.#eval(SCRIPTS.create, keys, [...args, ...newLeaseFields(input)])) as [
      string,
      string?,
      string[]?,
    ];
    if (reply[0] === 'ok') await this.#hint(w, Number(reply[1]));
    return this.#created(w, id, reply, input.maxLive);
  }

  #created(w: string, id: string, reply: [string, string?, string[]?], maxLive: number): Lease {
    switch (reply[0]) {
      case 'blocked':
        throw new BrokerError('workload_blocked', `workload ${w} is blocked`);
      case 'cap':
        throw new BrokerError(
          'lease_cap_reached',
          `workload ${w} has reached its cap of ${maxLive} live leases`,
          {
            retryAfter: 30,
          },
        );
      case 'ok':
        return decodeLease(id, reply[2] ?? []);
      default:
        throw new Error(`lease create: unexpected reply ${String(reply[0])}`);
    }
  }

  async #hint(workload: string, due: number | string): Promise<void> {
    if (due === '' || Number.isNaN(Number(due))) return;
    await this.#call(() => this.#redis.zadd(this.#keys.hint, 'LT', Number(due), workload));
  }

  /** The workload of lease `id`, or null when there is no such lease (or a malformed id). */
  async #workloadOf(id: string): Promise<string | null> {
    if (!isLeaseId(id)) return null;
    const w = await this.#call(() => this.#redis.hget(this.#keys.lease(id), 'w'));
    return ownsId(w, id) ? w : null;
  }

  async activate(
    { id, workload: w }: Pick<Lease, 'id' | 'workload'>,
    sealedHandle: string,
  ): Promise<ActivateResult> {
    // The keys of a workload whose tag is not the id's sit on another slot: no such lease.
    if (!isLeaseId(id) || !ownsId(w, id)) return { outcome: 'missing' };
    const k = this.#keys;
    const token = claimToken();
    const keys = [k.lease(id), k.due(w), k.meta(w)];
    const args = [id, sealedHandle, token, this.#settings.claimTimeoutMs, w];
    const reply = (
      this.#oneNode
        ? await this.#eval(SCRIPTS.activateHinted, [...keys, k.hint], args)
        : await this.#eval(SCRIPTS.activate, keys, args)
    ) as [string, string, string[]];
    if (reply[0] === 'missing') return { outcome: 'missing' };
    const lease = decodeLease(id, reply[2]);
    if (!this.#oneNode) await this.#hint(w, reply[1]);
    if (reply[0] === 'active') return { outcome: 'active', lease };
    return {
      outcome: 'revoke',
      claim: { lease, token, reason: lease.revokeReason ?? 'activation_failed' },
    };
  }

  async get(id: string): Promise<Lease | null> {
    if (!isLeaseId(id)) return null;
    const raw = await this.#call(() => this.#redis.hgetall(this.#keys.lease(id)));
    return ownsId(raw.w, id) ? decodeLease(id, raw) : null;
  }

  async #workloadIds(workload: string): Promise<string[]> {
    const k = this.#keys;
    const [live, done] = await this.#call(() =>
      Promise.all([
        this.#redis.zrange(k.due(workload), 0, -1),
        this.#redis.zrange(k.done(workload), 0, -1),
      ]),
    );
    return [...new Set([...live, ...done])].sort();
  }

  async list(filter: LeaseFilter, limit: number, cursor?: string): Promise<LeasePage> {
    const start = cursor === undefined ? undefined : decodeCursor(cursor);
    const workloads =
      filter.workload !== undefined
        ? [filter.workload]
        : (await this.#call(() => this.#redis.smembers(this.#keys.workloads))).sort();
    const leases: Lease[] = [];
    for (const w of workloads) {
      if (start && w < start.workload) continue;
      const ids = (await this.#workloadIds(w)).filter(
        (id) => !start || w > start.workload || id > start.id,
      );
      for (let i = 0; i < ids.length; i += 100) {
        const batch = ids.slice(i, i + 100);
        const raws = await this.#call(() =>
          Promise.all(batch.map((id) => this.#redis.hgetall(this.#keys.lease(id)))),
        );
        for (const [j, raw] of raws.entries()) {
          if (Object.keys(raw).length === 0) continue;
          const lease = decodeLease(batch[j] as string, raw);
          if (!matchesFilter(lease, filter)) continue;
          leases.push(lease);
          if (leases.length === limit) return { leases, cursor: encodeCursor(w, lease.id) };
        }
      }
    }
    return { leases };
  }

  async requestRevoke(ids: readonly string[], reason: RevokeReason): Promise<RevokeRequest[]> {
    return this.#requestRevoke(ids, reason, false);
  }

  async #requestRevoke(
    ids: readonly string[],
    reason: RevokeReason,
    onlyFailed: boolean,
  ): Promise<RevokeRequest[]> {
    const owners = await Promise.all(ids.map((id) => this.#workloadOf(id)));
    const results: RevokeRequest[] = new Array(ids.length);
    const groups = new Map<string, number[]>();
    owners.forEach((w, i) => {
      if (w === null) results[i] = { status: 'not_found' };
      else pushTo(groups, w, i);
    });
    await Promise.all(
      [...groups].map(async ([w, indexes]) => {
        const answers = await this.#claimIn(
          w,
          indexes.map((i) => ids[i] as string),
          reason,
          onlyFailed,
        );
        indexes.forEach((i, j) => {
          results[i] = answers[j] ?? { status: 'not_found' };
        });
      }),
    );
    return results;
  }

  /**
   * Claims leases of one known workload, CHUNK ids per script call, chunks in parallel.
   * `onChunk` sees each chunk's answers as soon as they arrive (the kill switch starts
   * revoking before the last chunk is claimed).
   */
  async #claimIn(
    w: string,
    ids: readonly string[],
    reason: RevokeReason,
    onlyFailed: boolean,
    onChunk?: (answers: RevokeRequest[]) => void,
  ): Promise<RevokeRequest[]> {
    const chunks: string[][] = [];
    for (let c = 0; c < ids.length; c += CHUNK) chunks.push(ids.slice(c, c + CHUNK));
    const answered = await Promise.all(
      chunks.map(async (chunk) => {
        const tokens = claimTokens(chunk.length);
        const args: (string | number)[] = [
          reason,
          this.#settings.claimTimeoutMs,
          onlyFailed ? '1' : '0',
          [...(this.#settings.inPlaceTargets?.() ?? [])].join('\n'),
          this.#settings.retentionMs,
          this.#keys.task(w, ''),
        ];
        chunk.forEach((id, j) => {
          args.push(id, tokens[j] as string);
        });
        const reply = (await this.#eval(
          SCRIPTS.requestRevoke,
          [this.#keys.due(w), this.#keys.done(w), ...chunk.map((id) => this.#keys.lease(id))],
          args,
        )) as [string, (string | null)[]?][];
        const answers = chunk.map((_, j) => {
          const [status, fields] = reply[j] ?? ['not_found'];
          return toRequest(chunk[j] as string, status, fields, tokens[j] as string, reason);
        });
        const next = reply[reply.length - 1];
        if (next?.[0] === 'next') await this.#hint(w, next[1] as unknown as string);
        onChunk?.(answers);
        return answers;
      }),
    );
    return answered.flat();
  }

  async taskLeases(workload: string, taskId: string): Promise<string[]> {
    return this.#call(() => this.#redis.zrange(this.#keys.task(workload, taskId), 0, -1));
  }

  async revokeWorkload(
    workload: string,
    options: { block: boolean; reason: string },
    onClaims?: (claims: Claim[], revokedInPlace: Lease[]) => void,
  ): Promise<WorkloadRevocation> {
    const k = this.#keys;
    await this.#call(() => this.#redis.sadd(k.workloads, workload));
    const [epoch, ids] = (await this.#eval(
      SCRIPTS.revokeWorkload,
      [k.meta(workload), k.due(workload)],
      [options.block ? '1' : '0', options.reason || 'blocked'],
    )) as [string, string[]];
    if (ids.length > 0) await this.#hint(workload, epoch);
    const out: WorkloadRevocation = {
      claims: [],
      deferred: 0,
      inProgress: 0,
      epoch: Number(epoch),
    };
    await this.#claimIn(workload, ids, 'workload_revoked', false, (answers) => {
      const claims: Claim[] = [];
      const revoked: Lease[] = [];
      for (const r of answers) {
        if (r.status === 'claimed') claims.push(r.claim);
        else if (r.status === 'revoked') revoked.push(r.lease);
        else if (r.status === 'deferred') out.deferred += 1;
        else if (r.status === 'in_progress') out.inProgress += 1;
      }
      out.claims.push(...claims);
      onClaims?.(claims, revoked);
    });
    return out;
  }

  async unblock(workload: string): Promise<boolean> {
    return (await this.#call(() => this.#redis.hdel(this.#keys.meta(workload), 'blocked'))) === 1;
  }

  async isBlocked(workload: string): Promise<boolean> {
    return (
      (await this.#call(() => this.#redis.hexists(this.#keys.meta(workload), 'blocked'))) === 1
    );
  }

  async finish(claim: Claim, outcome: RevokeOutcome): Promise<FinishResult> {
    const [result] = await this.finishMany([{ claim, outcome }]);
    return result ?? { lease: claim.lease, transition: 'none' };
  }

  async finishMany(
    items: readonly { claim: Claim; outcome: RevokeOutcome }[],
  ): Promise<FinishResult[]> {
    const k = this.#keys;
    const s = this.#settings;
    const results: FinishResult[] = new Array(items.length);
    const groups = new Map<string, number[]>();
    items.forEach((item, i) => {
      const w = item.claim.lease.workload;
      pushTo(groups, w, i);
    });
    await Promise.all(
      [...groups].flatMap(([w, indexes]) => {
        const chunks: number[][] = [];
        for (let c = 0; c < indexes.length; c += CHUNK) chunks.push(indexes.slice(c, c + CHUNK));
        return chunks.map(async (chunk) => {
          const keys = [k.due(w), k.done(w)];
          const args: (string | number)[] = [s.maxAttempts, s.failedRetryMs, s.retentionMs];
          for (const i of chunk) {
            const { claim, outcome } = items[i] as { claim: Claim; outcome: RevokeOutcome };
            keys.push(k.lease(claim.lease.id), k.task(w, claim.lease.task.id));
            args.push(
              claim.lease.id,
              claim.token,
              outcome.ok ? '1' : '0',
              outcome.ok ? '' : outcome.error.slice(0, 500),
              outcome.ok ? 0 : Math.max(0, Math.round(outcome.retryInMs)),
            );
          }
          const reply = (await this.#eval(SCRIPTS.finish, keys, args)) as string[][];
          let earliest = Number.POSITIVE_INFINITY;
          chunk.forEach((i, j) => {
            const [transition, due, state, attempts, revokedAt, reason, lastError] = reply[j] ?? [];
            const { claim } = items[i] as { claim: Claim };
            const lease: Lease = {
              ...claim.lease,
              attempts: Number(attempts ?? claim.lease.attempts),
            };
            if (state) lease.state = state as Lease['state'];
            if (revokedAt) lease.revokedAt = Number(revokedAt);
            if (reason) lease.revokeReason = reason as RevokeReason;
            if (lastError) lease.lastError = lastError;
            if (lease.state === 'revoked' || lease.state === 'expired') delete lease.handle;
            results[i] = {
              lease,
              transition: (transition ?? 'none') as FinishResult['transition'],
            };
            if (due) earliest = Math.min(earliest, Number(due));
          });
          if (Number.isFinite(earliest)) await this.#hint(w, earliest);
        });
      }),
    );
    return results;
  }

  async dueWorkloads(limit: number): Promise<string[]> {
    return (await this.#eval(SCRIPTS.hintDue, [this.#keys.hint], [limit])) as string[];
  }

  async claimDue(workload: string, limit: number): Promise<Claim[]> {
    const k = this.#keys;
    // Take the hint before reading the workload's leases: a concurrent create writes its
    // lease first and its hint second, so one of the two always sees the other.
    await this.#eval(SCRIPTS.hintTake, [k.hint], [workload]);
    const ids = (await this.#eval(SCRIPTS.dueIds, [k.due(workload)], [limit])) as string[];
    const tokens = ids.map(() => claimToken());
    const args: (string | number)[] = [this.#settings.claimTimeoutMs];
    ids.forEach((id, j) => {
      args.push(id, tokens[j] as string);
    });
    const [next, claimed] = (await this.#eval(
      SCRIPTS.claimDue,
      [k.due(workload), k.meta(workload), ...ids.map((id) => k.lease(id))],
      args,
    )) as [string, [string, string[]][]];
    await this.#hint(workload, next);
    const byId = new Map(ids.map((id, j) => [id, tokens[j] as string]));
    return claimed.map(([id, fields]) => {
      const lease = decodeLease(id, fields);
      return { lease, token: byId.get(lease.id) ?? '', reason: lease.revokeReason ?? 'expired' };
    });
  }

  async extend(id: string, expiresAt: number, sealedHandle?: string): Promise<Lease> {
    const w = await this.#workloadOf(id);
    if (w === null) throw new BrokerError('lease_not_found', `no lease ${id}`);
    const reply = (await this.#eval(
      SCRIPTS.extend,
      [this.#keys.lease(id), this.#keys.due(w)],
      [id, Math.round(expiresAt), sealedHandle ?? ''],
    )) as [string, string[]?];
    if (reply[0] === 'missing') throw new BrokerError('lease_not_found', `no lease ${id}`);
    if (reply[0] !== 'ok')
      throw new BrokerError('lease_not_active', 'only an active lease can be renewed');
    return decodeLease(id, reply[1] ?? []);
  }

  async retry(id: string): Promise<RevokeRequest> {
    const [result] = await this.#requestRevoke([id], 'operator', true);
    return result ?? { status: 'not_found' };
  }

  async repairHints(): Promise<number> {
    const workloads = await this.#call(() => this.#redis.smembers(this.#keys.workloads));
    let repaired = 0;
    for (const w of workloads) {
      const first = await this.#call(() =>
        this.#redis.zrange(this.#keys.due(w), 0, 0, 'WITHSCORES'),
      );
      if (first[1] !== undefined) {
        await this.#hint(w, first[1]);
        repaired += 1;
      }
    }
    return repaired;
  }

  async workloads(): Promise<WorkloadSummary[]> {
    const k = this.#keys;
    const ids = (await this.#call(() => this.#redis.smembers(k.workloads))).sort();
    return this.#call(() =>
      Promise.all(
        ids.map(async (workload) => {
          const [live, meta] = await Promise.all([
            this.#redis.zcard(k.due(workload)),
            this.#redis.hgetall(k.meta(workload)),
          ]);
          const summary: WorkloadSummary = { workload, live, blocked: meta.blocked !== undefined };
          if (meta.revoked_before !== undefined)
            summary.revokedBefore = Number(meta.revoked_before);
          return summary;
        }),
      ),
    );
  }

  async census(limit: number): Promise<LeaseCensus> {
    const k = this.#keys;
    const workloads = await this.#call(() => this.#redis.smembers(k.workloads));
    // Unfinished leases of every workload first, so retained finished ones never crowd
    // them out of the bound. Each set is read in slices tallied in Redis (one reply per
    // slice, not one per lease, and no script holds Redis for long); once the bound is
    // reached, an empty slice only asks whether a set holds more.
    const sets = [...workloads.map((w) => k.due(w)), ...workloads.map((w) => k.done(w))];
    const rows: CensusRow[] = [];
    let room = limit;
    for (const key of sets) {
      for (let offset = 0; ; ) {
        const slice = Math.min(room, CENSUS_SLICE);
        const { seen, tally } = await this.#censusSlice(key, offset, slice);
        rows.push(...tally);
        room -= Math.min(seen, slice);
        if (seen <= slice) break;
        if (slice === 0) return tallyCensus(rows, true);
        offset += slice;
      }
    }
    return tallyCensus(rows, false);
  }

  async #censusSlice(
    key: string,
    offset: number,
    limit: number,
  ): Promise<{ seen: number; tally: CensusRow[] }> {
    // A workload's lease keys start like its other keys: `<prefix>:{<tag>}:`.
    const leasePrefix = key.slice(0, key.indexOf('}:') + 2);
    const reply = (await this.#eval(
      SCRIPTS.census,
      [key],
      [leasePrefix, offset, limit],
    )) as unknown[];
    const tally: CensusRow[] = [];
    for (let i = 1; i + 4 <= reply.length; i += 4) {
      const [target, provider, state, leases] = reply.slice(i, i + 4).map(String);
      if (!target || !provider || !isLeaseState(state)) continue;
      tally.push({
        target,
        provider: provider as Lease['provider'],
        state,
        leases: Number(leases),
      });
    }
    return { seen: Number(reply[0]), tally };
  }

  /**
   * Marks the prefix with this key layout, or refuses a prefix an earlier layout wrote (its
   * leases would be invisible here: never reaped, never revoked). Run once at start.
   */
  async claimLayout(): Promise<void> {
    const k = this.#keys;
    const [marked, used] = await this.#call(() =>
      Promise.all([this.#redis.get(k.layout), this.#redis.exists(k.workloads)]),
    );
    if (marked === null && used === 1) {
      throw new Error(
        `the lease store under "${k.prefix}" was written by an earlier key layout (lease ids without a slot tag): revoke its leases with that build first, then delete its keys or choose another key_prefix`,
      );
    }
    if (marked !== null && marked !== LAYOUT) {
      throw new Error(
        `the lease store under "${k.prefix}" has key layout ${marked}, not ${LAYOUT}`,
      );
    }
    if (marked === null) await this.#call(() => this.#redis.set(k.layout, LAYOUT, 'NX'));
  }

  async setFrozen(freeze: IssuanceFreeze | null): Promise<void> {
    // One key, as before: its presence is the freeze, its JSON value the record.
    await this.#call(async () => {
      if (freeze) {
        const { by, at, reason } = freeze;
        await this.#redis.set(this.#keys.frozen, JSON.stringify({ by, at, reason }));
      } else {
        await this.#redis.del(this.#keys.frozen);
      }
    });
  }

  async isFrozen(): Promise<Partial<IssuanceFreeze> | null> {
    const value = await this.#call(() => this.#redis.get(this.#keys.frozen));
    return value === null ? null : readFreeze(value);
  }

  async ping(): Promise<void> {
    await this.now();
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}

/**
 * The frozen key's record, keeping only well-typed fields: an earlier broker wrote a bare
 * `1`, which must keep issuance frozen across the upgrade, so nothing here throws.
 */
function readFreeze(value: string): Partial<IssuanceFreeze> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  const record = parsed as Record<string, unknown>;
  const freeze: Partial<IssuanceFreeze> = {};
  if (typeof record.by === 'string') freeze.by = record.by;
  if (typeof record.at === 'number' && Number.isFinite(record.at)) freeze.at = record.at;
  if (typeof record.reason === 'string') freeze.reason = record.reason;
  return freeze;
}

/** Appends to a map of lists (in place: the kill switch and selectors group thousands). */
function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function toRequest(
  id: string,
  status: string,
  values: (string | null)[] | undefined,
  token: string,
  reason: RevokeReason,
): RevokeRequest {
  if (status === 'not_found' || !values) return { status: 'not_found' };
  const lease = decodePositional(id, values);
  switch (status) {
    case 'claimed':
      return { status: 'claimed', claim: { lease, token, reason: lease.revokeReason ?? reason } };
    case 'deferred':
      return { status: 'deferred', lease };
    case 'in_progress':
      return { status: 'in_progress', lease };
    case 'not_retryable':
      return { status: 'not_retryable', lease };
    case 'revoked':
      return { status: 'revoked', lease };
    default:
      return { status: 'done', lease };
  }
}

/**
 * Whether a lease hash's workload `w` is the one its id's slot tag was derived from: a stored
 * record always is, so anything else (an id someone made up with another tag) is no lease.
 */
function ownsId(w: string | null | undefined, id: string): w is string {
  return typeof w === 'string' && slotTag(w) === slotTagOf(id);
}

function isLeaseState(value: string | null | undefined): value is Lease['state'] {
  return (LEASE_STATES as readonly (string | null | undefined)[]).includes(value);
}

function unavailable(err: unknown): unknown {
  if (err instanceof BrokerError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const isReply = err instanceof Error && err.name === 'ReplyError';
  if (isReply && !UNAVAILABLE.test(message)) return err;
  return new BrokerError('store_unavailable', 'the lease store (Redis) is unavailable', {
    retryAfter: 2,
    cause: err,
  });
}
