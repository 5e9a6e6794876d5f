import { randomBytes } from 'node:crypto';
import { BrokerError } from '../errors.js';
import { newLeaseId } from '../lib/ids.js';
import { tallyCensus } from './census.js';
import { decodeCursor, encodeCursor, matchesFilter } from './listing.js';
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

interface Entry {
  lease: Lease;
  due: number | undefined;
  claimToken?: string;
  claimUntil?: number;
  pendingReason?: RevokeReason;
  /** When a finished lease disappears (retention). */
  purgeAt?: number;
}

interface WorkloadMeta {
  blocked?: string;
  revokedBefore?: number;
}

/**
 * In-process lease store for `jit-broker dev` and unit tests. Same contract and transitions
 * as the Redis store (the conformance suite runs against both); nothing survives a restart.
 */
export class MemoryLeaseStore implements LeaseStore {
  readonly #entries = new Map<string, Entry>();
  readonly #meta = new Map<string, WorkloadMeta>();
  readonly #settings: StoreSettings;
  readonly #clock: () => number;
  #frozen: IssuanceFreeze | null = null;

  constructor(settings: StoreSettings, clock: () => number = Date.now) {
    this.#settings = settings;
    this.#clock = clock;
  }

  async now(): Promise<number> {
    return this.#clock();
  }

  #live(workload: string): Entry[] {
    return [...this.#entries.values()].filter(
      (e) => e.lease.workload === workload && e.due !== undefined,
    );
  }

  #entry(id: string): Entry | undefined {
    const entry = this.#entries.get(id);
    if (entry?.purgeAt !== undefined && entry.purgeAt <= this.#clock()) {
      this.#entries.delete(id);
      return undefined;
    }
    return entry;
  }

  async create(input: NewLease): Promise<Lease> {
    const now = this.#clock();
    if (this.#meta.get(input.workload)?.blocked !== undefined) {
      throw new BrokerError('workload_blocked', `workload ${input.workload} is blocked`);
    }
    if (this.#live(input.workload).length >= input.maxLive) {
      throw new BrokerError(
        'lease_cap_reached',
        `workload ${input.workload} has reached its cap of ${input.maxLive} live leases`,
        { retryAfter: 30 },
      );
    }
    const lease: Lease = {
      id: newLeaseId(input.workload),
      workload: input.workload,
      subject: input.subject,
      issuer: input.issuer,
      target: input.target,
      provider: input.provider,
      scope: structuredClone(input.scope),
      task: { ...input.task },
      state: 'pending',
      createdAt: now,
      expiresAt: now + input.ttlMs,
      maxExpiresAt: now + input.maxTtlMs,
      attempts: 0,
      policy: input.policy,
      policyHash: input.policyHash,
    };
    if (input.actor !== undefined) lease.actor = input.actor;
    this.#entries.set(lease.id, { lease, due: now + this.#settings.pendingTimeoutMs });
    return structuredClone(lease);
  }

  #claim(entry: Entry, reason: RevokeReason): Claim {
    const token = randomBytes(12).toString('base64url');
    entry.lease.state = 'revoking';
    entry.lease.revokeReason ??= reason;
    entry.claimToken = token;
    entry.claimUntil = this.#clock() + this.#settings.claimTimeoutMs;
    entry.due = entry.claimUntil;
    delete entry.purgeAt;
    return { lease: structuredClone(entry.lease), token, reason: entry.lease.revokeReason };
  }

  async activate(
    { id, workload }: Pick<Lease, 'id' | 'workload'>,
    sealedHandle: string,
  ): Promise<ActivateResult> {
    const entry = this.#entry(id);
    if (!entry || entry.lease.workload !== workload) return { outcome: 'missing' };
    const { lease } = entry;
    lease.handle = sealedHandle;
    let reason: RevokeReason | undefined;
    if (lease.state === 'pending') {
      const revokedBefore = this.#meta.get(lease.workload)?.revokedBefore;
      reason = entry.pendingReason;
      if (!reason && revokedBefore !== undefined && lease.createdAt <= revokedBefore)
        reason = 'workload_revoked';
      if (!reason && this.#clock() >= lease.expiresAt) reason = 'expired';
      if (!reason) {
        lease.state = 'active';
        entry.due = lease.expiresAt;
        return { outcome: 'active', lease: structuredClone(lease) };
      }
    } else if (lease.state === 'active') {
      return { outcome: 'active', lease: structuredClone(lease) };
    } else {
      reason = lease.revokeReason ?? 'activation_failed';
    }
    return { outcome: 'revoke', claim: this.#claim(entry, reason) };
  }

  async get(id: string): Promise<Lease | null> {
    const entry = this.#entry(id);
    return entry ? structuredClone(entry.lease) : null;
  }

  async list(filter: LeaseFilter, limit: number, cursor?: string): Promise<LeasePage> {
    const start = cursor === undefined ? undefined : decodeCursor(cursor);
    const all = [...this.#entries.keys()]
      .map((id) => this.#entry(id))
      .filter((e): e is Entry => e !== undefined)
      .map((e) => e.lease)
      .filter((l) => matchesFilter(l, filter))
      .filter(
        (l) =>
          !start ||
          l.workload > start.workload ||
          (l.workload === start.workload && l.id > start.id),
      )
      .sort((a, b) => (a.workload === b.workload ? cmp(a.id, b.id) : cmp(a.workload, b.workload)));
    const leases = all.slice(0, limit).map((l) => structuredClone(l));
    const last = leases[leases.length - 1];
    return all.length > limit && last
      ? { leases, cursor: encodeCursor(last.workload, last.id) }
      : { leases };
  }

  async requestRevoke(ids: readonly string[], reason: RevokeReason): Promise<RevokeRequest[]> {
    return ids.map((id) => this.#request(id, reason, false));
  }

  #request(id: string, reason: RevokeReason, onlyFailed: boolean): RevokeRequest {
    const entry = this.#entry(id);
    if (!entry) return { status: 'not_found' };
    const { lease } = entry;
    if (lease.state === 'revoked' || lease.state === 'expired')
      return { status: 'done', lease: structuredClone(lease) };
    if (onlyFailed && lease.state !== 'revoke_failed')
      return { status: 'not_retryable', lease: structuredClone(lease) };
    if (lease.state === 'pending' && lease.handle === undefined) {
      // The kill switch relies on its epoch for mints in flight (see the Redis scripts).
      if (reason !== 'workload_revoked') entry.pendingReason ??= reason;
      return { status: 'deferred', lease: structuredClone(lease) };
    }
    if (lease.state === 'revoking' && (entry.claimUntil ?? 0) > this.#clock()) {
      return { status: 'in_progress', lease: structuredClone(lease) };
    }
    if (this.#settings.inPlaceTargets?.().has(lease.target)) {
      const now = this.#clock();
      lease.revokeReason ??= reason;
      lease.state = lease.revokeReason === 'expired' ? 'expired' : 'revoked';
      lease.revokedAt = now;
      delete lease.handle;
      delete entry.claimToken;
      delete entry.claimUntil;
      delete entry.pendingReason;
      entry.due = undefined;
      entry.purgeAt = now + this.#settings.retentionMs;
      return { status: 'revoked', lease: structuredClone(lease) };
    }
    return { status: 'claimed', claim: this.#claim(entry, reason) };
  }

  async taskLeases(workload: string, taskId: string): Promise<string[]> {
    return this.#live(workload)
      .filter((e) => e.lease.task.id === taskId)
      .map((e) => e.lease.id);
  }

  async revokeWorkload(
    workload: string,
    options: { block: boolean; reason: string },
    onClaims?: (claims: Claim[], revokedInPlace: Lease[]) => void,
  ): Promise<WorkloadRevocation> {
    const epoch = this.#clock();
    const meta = this.#meta.get(workload) ?? {};
    meta.revokedBefore = epoch;
    if (options.block) meta.blocked = options.reason || 'blocked';
    this.#meta.set(workload, meta);
    const out: WorkloadRevocation = { claims: [], deferred: 0, inProgress: 0, epoch };
    for (const entry of this.#live(workload)) entry.due = Math.min(entry.due ?? epoch, epoch);
    const revoked: Lease[] = [];
    for (const entry of this.#live(workload)) {
      const r = this.#request(entry.lease.id, 'workload_revoked', false);
      if (r.status === 'claimed') out.claims.push(r.claim);
      else if (r.status === 'revoked') revoked.push(r.lease);
      else if (r.status === 'deferred') out.deferred += 1;
      else if (r.status === 'in_progress') out.inProgress += 1;
    }
    onClaims?.(out.claims, revoked);
    return out;
  }

  async unblock(workload: string): Promise<boolean> {
    const meta = this.#meta.get(workload);
    if (meta?.blocked === undefined) return false;
    delete meta.blocked;
    return true;
  }

  async isBlocked(workload: string): Promise<boolean> {
    return this.#meta.get(workload)?.blocked !== undefined;
  }

  async finish(claim: Claim, outcome: RevokeOutcome): Promise<FinishResult> {
    const entry = this.#entry(claim.lease.id);
    if (!entry) return { lease: claim.lease, transition: 'none' };
    const { lease } = entry;
    if (entry.claimToken !== claim.token)
      return { lease: structuredClone(lease), transition: 'none' };
    const now = this.#clock();
    delete entry.claimToken;
    delete entry.claimUntil;
    if (outcome.ok) {
      lease.state = lease.revokeReason === 'expired' ? 'expired' : 'revoked';
      lease.revokedAt = now;
      delete lease.handle;
      delete entry.pendingReason;
      entry.due = undefined;
      entry.purgeAt = now + this.#settings.retentionMs;
      return { lease: structuredClone(lease), transition: lease.state };
    }
    lease.attempts += 1;
    lease.lastError = outcome.error.slice(0, 500);
    let transition: FinishResult['transition'] = 'retry';
    if (lease.attempts >= this.#settings.maxAttempts) {
      if (lease.attempts === this.#settings.maxAttempts) transition = 'revoke_failed';
      lease.state = 'revoke_failed';
      entry.due = now + this.#settings.failedRetryMs;
    } else {
      lease.state = 'revoking';
      entry.due = now + Math.max(0, Math.round(outcome.retryInMs));
    }
    return { lease: structuredClone(lease), transition };
  }

  async finishMany(
    items: readonly { claim: Claim; outcome: RevokeOutcome }[],
  ): Promise<FinishResult[]> {
    return Promise.all(items.map(({ claim, outcome }) => this.finish(claim, outcome)));
  }

  async dueWorkloads(limit: number): Promise<string[]> {
    const now = this.#clock();
    const due = new Set<string>();
    for (const e of this.#entries.values()) {
      if (e.due !== undefined && e.due <= now) due.add(e.lease.workload);
      if (due.size >= limit) break;
    }
    return [...due];
  }

  async claimDue(workload: string, limit: number): Promise<Claim[]> {
    const now = this.#clock();
    const claims: Claim[] = [];
    const due = this.#live(workload)
      .filter((e) => (e.due ?? Number.POSITIVE_INFINITY) <= now)
      .sort((a, b) => (a.due ?? 0) - (b.due ?? 0))
      .slice(0, limit);
    const epoch = this.#meta.get(workload)?.revokedBefore ?? -1;
    for (const entry of due) {
      const { lease } = entry;
      const killed = lease.createdAt <= epoch;
      let reason: RevokeReason | undefined;
      if (lease.state === 'pending') {
        reason = entry.pendingReason ?? (killed ? 'workload_revoked' : 'pending_timeout');
      } else if (lease.state === 'active') {
        if (now >= lease.expiresAt) reason = 'expired';
        else if (killed) reason = 'workload_revoked';
        else entry.due = lease.expiresAt;
      } else if (lease.state === 'revoking' || lease.state === 'revoke_failed') {
        reason = lease.revokeReason ?? 'activation_failed';
      }
      if (reason) claims.push(this.#claim(entry, reason));
    }
    return claims;
  }

  async extend(id: string, expiresAt: number, sealedHandle?: string): Promise<Lease> {
    const entry = this.#entry(id);
    if (!entry) throw new BrokerError('lease_not_found', `no lease ${id}`);
    const { lease } = entry;
    if (lease.state !== 'active' || this.#clock() >= lease.expiresAt) {
      throw new BrokerError('lease_not_active', 'only an active lease can be renewed');
    }
    lease.expiresAt = Math.min(Math.round(expiresAt), lease.maxExpiresAt);
    if (sealedHandle !== undefined) lease.handle = sealedHandle;
    entry.due = lease.expiresAt;
    return structuredClone(lease);
  }

  async retry(id: string): Promise<RevokeRequest> {
    return this.#request(id, 'operator', true);
  }

  async repairHints(): Promise<number> {
    return 0;
  }

  async workloads(): Promise<WorkloadSummary[]> {
    const names = new Set<string>([...this.#meta.keys()]);
    for (const e of this.#entries.values()) names.add(e.lease.workload);
    return [...names].sort().map((workload) => {
      const meta = this.#meta.get(workload);
      const summary: WorkloadSummary = {
        workload,
        live: this.#live(workload).length,
        blocked: meta?.blocked !== undefined,
      };
      if (meta?.revokedBefore !== undefined) summary.revokedBefore = meta.revokedBefore;
      return summary;
    });
  }

  async setFrozen(freeze: IssuanceFreeze | null): Promise<void> {
    this.#frozen = freeze === null ? null : { ...freeze };
  }

  async census(limit: number): Promise<LeaseCensus> {
    const entries = [...this.#entries.keys()].flatMap((id) => this.#entry(id) ?? []);
    // Unfinished leases first, as the Redis store reads them.
    entries.sort((a, b) => Number(a.due === undefined) - Number(b.due === undefined));
    return tallyCensus(
      entries.slice(0, limit).map((e) => e.lease),
      entries.length > limit,
    );
  }

  async isFrozen(): Promise<IssuanceFreeze | null> {
    return this.#frozen === null ? null : { ...this.#frozen };
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
