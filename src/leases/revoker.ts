import type { Provider, RevocationHandle } from '../../providers/provider.js';
import type { EventEmitter, EventInput } from '../events/types.js';
import type { Caller } from '../lib/caller.js';
import type { Logger } from '../lib/logger.js';
import { Semaphore } from '../lib/semaphore.js';
import { untilDeadline, withTimeout } from '../lib/time-limit.js';
import type { Metrics } from '../metrics.js';
import { leaseEventFields } from './event-fields.js';
import type { HandleSealer } from './sealing.js';
import type {
  Claim,
  FinishResult,
  Lease,
  LeaseStore,
  RevokeOutcome,
  RevokeReason,
} from './types.js';

export interface RevokerOptions {
  store: LeaseStore;
  providers: () => ReadonlyMap<string, Provider>;
  /** The current keyring (a reload can rotate it; every key still in it opens). */
  sealer: () => HandleSealer;
  events: EventEmitter;
  metrics: Metrics;
  logger: Logger;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** One provider call may take this long before it counts as failed. */
  callTimeoutMs?: number;
  /**
   * Told of every lease this replica finished revoking, with the handle the provider was given
   * (the store erases it at finish): proof of revocation checks the target from here.
   */
  afterRevoke?: AfterRevoke;
}

export type AfterRevoke = (
  lease: Lease,
  provider: Provider | undefined,
  handle: RevocationHandle,
  reason: RevokeReason,
) => void;

/** Leases per `revokeMany` call when the provider names no size of its own. */
const DEFAULT_BATCH_SIZE = 100;

/** Up to this many in-place revocations are evented before the call returns. */
const IN_PLACE_SYNC_LIMIT = 100;

export interface RevokeTally {
  revoked: number;
  /** Failed this time; retried with backoff (or `revoke_failed`). */
  failed: number;
  /** Still running when the deadline came; they finish in the background. */
  pending: number;
}

/**
 * Executes claimed revocations at the providers: bounded concurrency per target, the
 * provider's answer recorded on the lease (retry with backoff and jitter, `revoke_failed`
 * after the last attempt), and an event for every transition. Shared by the API, the kill
 * switch and the reaper so all of them respect the same per-target limits.
 */
export class Revoker {
  readonly #o: RevokerOptions;
  readonly #limits = new Map<string, Semaphore>();
  readonly #inPlaceQueue: { lease: Lease; caller: Caller | undefined }[] = [];
  #pending: {
    claim: Claim;
    outcome: RevokeOutcome;
    resolve: (result: FinishResult) => void;
    reject: (err: unknown) => void;
  }[] = [];

  constructor(options: RevokerOptions) {
    this.#o = options;
  }

  #limit(target: string, provider: Provider | undefined): Semaphore {
    let sem = this.#limits.get(target);
    if (!sem) {
      sem = new Semaphore(provider?.revokeConcurrency ?? 8);
      this.#limits.set(target, sem);
    }
    return sem;
  }

  /** Revokes every claim; resolves at the deadline (if any) with what is done by then. */
  async execute(
    claims: readonly Claim[],
    caller?: Caller,
    deadlineMs?: number,
  ): Promise<RevokeTally> {
    const tally: RevokeTally = { revoked: 0, failed: 0, pending: 0 };
    const all = this.executeInto(claims, caller, tally);
    await untilDeadline(all, deadlineMs);
    return { ...tally };
  }

  /**
   * Starts revoking `claims`, counting into a tally shared with other batches. Claims toward
   * a target that can revoke many at once (`revokeMany`) go in batches, each taking one of
   * the target's concurrency slots; whatever a batch leaves, or all of a batch that fails,
   * is revoked lease by lease.
   */
  executeInto(
    claims: readonly Claim[],
    caller: Caller | undefined,
    tally: RevokeTally,
  ): Promise<void> {
    tally.pending += claims.length;
    const settle = (revokedAtProvider: boolean) => {
      tally.pending -= 1;
      if (revokedAtProvider) tally.revoked += 1;
      else tally.failed += 1;
    };
    const single = async (claim: Claim) => {
      settle((await this.#revoke(claim, caller)).revokedAtProvider);
    };
    const { batches, singles } = this.#batches(claims);
    return Promise.all([
      ...singles.map(single),
      ...batches.map(async ({ provider, claims: batch }) => {
        const done = await this.#revokeBatch(provider, batch);
        await Promise.all(
          batch.map(async (claim) => {
            const handle = done.get(claim.lease.id);
            if (handle === undefined) return single(claim);
            await this.#record(claim, { ok: true }, provider, handle, caller);
            settle(true);
          }),
        );
      }),
    ]).then(() => undefined);
  }

  /** Groups claims by target; a target with `revokeMany` and more than one claim is batched. */
  #batches(claims: readonly Claim[]): {
    batches: { provider: Provider; claims: Claim[] }[];
    singles: Claim[];
  } {
    const singles: Claim[] = [];
    const byTarget = new Map<string, { provider: Provider; claims: Claim[] }>();
    for (const claim of claims) {
      const provider = this.#o.providers().get(claim.lease.target);
      if (provider?.revokeMany === undefined) {
        singles.push(claim);
        continue;
      }
      const group = byTarget.get(claim.lease.target);
      if (group === undefined) byTarget.set(claim.lease.target, { provider, claims: [claim] });
      else group.claims.push(claim);
    }
    const batches: { provider: Provider; claims: Claim[] }[] = [];
    for (const { provider, claims: group } of byTarget.values()) {
      if (group.length === 1) {
        singles.push(...group);
        continue;
      }
      const size = Math.max(1, provider.revokeBatchSize ?? DEFAULT_BATCH_SIZE);
      for (let i = 0; i < group.length; i += size) {
        batches.push({ provider, claims: group.slice(i, i + size) });
      }
    }
    return { batches, singles };
  }

  /**
   * One `revokeMany` call under one of the target's slots. Answers the handle of every lease
   * the provider revoked; a lease whose handle cannot be opened, one the provider left, and
   * every lease of a call that failed are absent (revoked on their own next).
   */
  async #revokeBatch(
    provider: Provider,
    claims: readonly Claim[],
  ): Promise<Map<string, RevocationHandle>> {
    const target = provider.target;
    const done = new Map<string, RevocationHandle>();
    try {
      await this.#limit(target, provider).run(async () => {
        const items: { handle: RevocationHandle; leaseId: string }[] = [];
        for (const { lease } of claims) {
          try {
            const handle =
              lease.handle === undefined || provider.revokeUsesHandle === false
                ? {}
                : this.#o.sealer().open(lease.id, lease.handle);
            items.push({ handle, leaseId: lease.id });
          } catch {
            // Left for the lease's own revocation, which records why it fails.
          }
        }
        if (items.length === 0 || provider.revokeMany === undefined) return;
        const left = new Set(
          await withTimeout(
            provider.revokeMany(items),
            this.#o.callTimeoutMs ?? 30_000,
            'provider call',
          ),
        );
        for (const item of items) if (!left.has(item.leaseId)) done.set(item.leaseId, item.handle);
      });
    } catch (err) {
      done.clear();
      this.#o.logger.warn(
        { target, leases: claims.length, err: safeMessage(err) },
        'batch revocation failed; revoking lease by lease',
      );
    }
    return done;
  }

  /** Never throws: a failure is recorded on the lease and retried. */
  async revokeOne(claim: Claim, caller?: Caller): Promise<FinishResult> {
    return (await this.#revoke(claim, caller)).result;
  }

  async #revoke(
    claim: Claim,
    caller: Caller | undefined,
  ): Promise<{ result: FinishResult; revokedAtProvider: boolean }> {
    const { lease } = claim;
    const provider = this.#o.providers().get(lease.target);
    let outcome: RevokeOutcome;
    let opened: RevocationHandle = {};
    try {
      await this.#limit(lease.target, provider).run(async () => {
        if (!provider) throw new Error(`target ${lease.target} is no longer configured`);
        const handle =
          lease.handle === undefined || provider.revokeUsesHandle === false
            ? {}
            : this.#o.sealer().open(lease.id, lease.handle);
        opened = handle;
        const stopTimer = this.#o.metrics.revokeSeconds.startTimer({ provider: provider.kind });
        try {
          await withTimeout(
            provider.revoke(handle, lease.id),
            this.#o.callTimeoutMs ?? 30_000,
            'provider call',
          );
          stopTimer({ outcome: 'success' });
        } catch (err) {
          stopTimer({ outcome: 'failure' });
          throw err;
        }
      });
      outcome = { ok: true };
    } catch (err) {
      this.#o.metrics.revokeErrors.inc({ target: lease.target });
      outcome = { ok: false, error: safeMessage(err), retryInMs: this.backoff(lease.attempts) };
    }
    const result = await this.#record(claim, outcome, provider, opened, caller);
    return { result, revokedAtProvider: outcome.ok };
  }

  /** The provider's answer on the lease, its event and metric. Never throws. */
  async #record(
    claim: Claim,
    outcome: RevokeOutcome,
    provider: Provider | undefined,
    opened: RevocationHandle,
    caller: Caller | undefined,
  ): Promise<FinishResult> {
    const { lease } = claim;
    let result: FinishResult;
    try {
      result = await this.#finish(claim, outcome);
    } catch (err) {
      // The store is down: the claim times out and the reaper retries this lease.
      this.#o.logger.warn(
        { lease_id: lease.id, err: safeMessage(err) },
        'could not record revocation',
      );
      return { lease, transition: 'none' };
    }
    this.#report(claim, result, outcome, caller);
    if (result.transition === 'revoked' || result.transition === 'expired') {
      this.#after(result.lease, provider, opened, claim.reason);
    }
    return result;
  }

  /**
   * Provider answers are recorded in batches: every answer that arrives in the same turn of
   * the event loop goes to the store in one call per workload (a kill switch finishes
   * thousands of leases at once).
   */
  #finish(claim: Claim, outcome: RevokeOutcome): Promise<FinishResult> {
    return new Promise<FinishResult>((resolve, reject) => {
      this.#pending.push({ claim, outcome, resolve, reject });
      if (this.#pending.length === 1) setImmediate(() => void this.#flush());
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#pending.splice(0, this.#pending.length);
    try {
      const results = await this.#o.store.finishMany(
        batch.map(({ claim, outcome }) => ({ claim, outcome })),
      );
      batch.forEach((item, i) => {
        item.resolve(results[i] ?? { lease: item.claim.lease, transition: 'none' });
      });
    } catch (err) {
      for (const item of batch) item.reject(err);
    }
  }

  /**
   * Leases the store revoked in place (their credential is the lease state): nothing to call
   * at a provider, only the metric and the event.
   */
  recordInPlace(leases: readonly Lease[], caller?: Caller): void {
    if (leases.length <= IN_PLACE_SYNC_LIMIT) {
      for (const lease of leases) this.#reportInPlace(lease, caller);
      return;
    }
    // A bulk revocation (the kill switch) is already done in the store; its thousands of
    // events are chained in order over the next turns of the event loop, so the operator's
    // answer does not wait for them (revocation never waits on the audit trail).
    this.#inPlaceQueue.push(...leases.map((lease) => ({ lease, caller })));
    if (this.#inPlaceQueue.length === leases.length) setImmediate(() => this.#drainInPlace());
  }

  /** Events every queued in-place revocation now (shutdown: nothing is dropped). */
  flushInPlace(): void {
    while (this.#inPlaceQueue.length > 0) this.#drainInPlace();
  }

  #drainInPlace(): void {
    for (const { lease, caller } of this.#inPlaceQueue.splice(0, 500)) {
      this.#reportInPlace(lease, caller);
    }
    if (this.#inPlaceQueue.length > 0) setImmediate(() => this.#drainInPlace());
  }

  #reportInPlace(lease: Lease, caller: Caller | undefined): void {
    const transition = lease.state === 'expired' ? 'expired' : 'revoked';
    const reason = lease.revokeReason ?? 'operator';
    this.#report({ lease, token: '', reason }, { lease, transition }, { ok: true }, caller);
    this.#after(lease, this.#o.providers().get(lease.target), {}, reason);
  }

  #after(
    lease: Lease,
    provider: Provider | undefined,
    handle: RevocationHandle,
    reason: RevokeReason,
  ): void {
    try {
      this.#o.afterRevoke?.(lease, provider, handle, reason);
    } catch (err) {
      this.#o.logger.error(
        { lease_id: lease.id, err: safeMessage(err) },
        'after-revoke hook failed',
      );
    }
  }

  /** Exponential backoff with full jitter in [base·2^n / 2, base·2^n], capped. */
  backoff(attempts: number): number {
    const ceiling = Math.min(
      this.#o.backoffMaxMs,
      this.#o.backoffBaseMs * 2 ** Math.min(attempts, 30),
    );
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  #report(
    claim: Claim,
    result: FinishResult,
    outcome: { ok: true } | { ok: false; error: string },
    caller: Caller | undefined,
  ): void {
    const { lease } = result;
    const base: Omit<EventInput, 'type' | 'outcome'> = {
      ...leaseEventFields(lease),
      reason: claim.reason,
      ...(caller?.actor === undefined ? {} : { actor: caller.actor }),
      ...(caller === undefined ? {} : { request_id: caller.requestId }),
      ...(caller?.sourceIp === undefined ? {} : { source_ip: caller.sourceIp }),
    };
    const emit = (event: EventInput) => {
      this.#o.events.emit(event, { failClosed: false }).catch((err: unknown) => {
        this.#o.logger.error({ err: safeMessage(err), type: event.type }, 'event not emitted');
      });
    };
    switch (result.transition) {
      case 'revoked':
      case 'expired':
        this.#o.metrics.revoked.inc({ target: lease.target, reason: claim.reason });
        emit({
          ...base,
          type: result.transition === 'expired' ? 'lease.expired' : 'lease.revoked',
          outcome: 'success',
        });
        break;
      case 'revoke_failed':
        this.#o.metrics.revokeFailed.inc({ target: lease.target });
        emit({
          ...base,
          type: 'lease.revoke_failed',
          severity: 'high',
          outcome: 'failure',
          detail: { attempts: lease.attempts, error: outcome.ok ? '' : outcome.error },
        });
        break;
      case 'retry':
        this.#o.logger.warn(
          {
            lease_id: lease.id,
            target: lease.target,
            attempts: lease.attempts,
            err: outcome.ok ? '' : outcome.error,
          },
          'revocation failed; will retry',
        );
        break;
      case 'none':
        break;
    }
  }
}

/** Provider errors are already scrubbed; keep only the message, bounded. */
export function safeMessage(err: unknown): string {
  const text =
    err instanceof Error
      ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}`
      : String(err);
  return text.slice(0, 300);
}
