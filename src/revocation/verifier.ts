import type { Provider, RevocationHandle, RevocationProof } from '../../providers/provider.js';
import { liveUntil } from '../broker/live-token.js';
import type { EventEmitter, EventInput, EventType, Severity } from '../events/types.js';
import { leaseEventFields } from '../leases/event-fields.js';
import { safeMessage } from '../leases/revoker.js';
import type { Lease, LeaseStore, RevokeReason } from '../leases/types.js';
import type { Logger } from '../lib/logger.js';
import { Semaphore } from '../lib/semaphore.js';
import { withTimeout } from '../lib/time-limit.js';
import type { Metrics } from '../metrics.js';
import type { RevocationConfig } from './config.js';
import type { VerificationStatus } from './receipt.js';

export interface RevocationVerifierOptions {
  /** The `revocation` config in force (a reload can change it). */
  config: () => RevocationConfig;
  /** Lease-state targets (jwt) are verified from the lease itself, as introspection reads it. */
  store: Pick<LeaseStore, 'get' | 'now'>;
  events: EventEmitter;
  metrics: Metrics;
  logger: Logger;
}

const EVENT: Record<VerificationStatus, { type: EventType; severity: Severity }> = {
  verified: { type: 'revocation.verified', severity: 'info' },
  unverified: { type: 'revocation.unverified', severity: 'high' },
  unverifiable: { type: 'revocation.unverifiable', severity: 'low' },
};

/**
 * Proof of revocation: after a successful revocation (every one a kill switch made, or every
 * one with `revocation.verify: all`) the target is asked whether the credential is really
 * gone, and the answer becomes a chained `revocation.verified`, `revocation.unverified` (the
 * credential may still work: an incident) or `revocation.unverifiable` (the target cannot
 * say) event. It runs beside revocation, never in its way: `schedule` returns at once, each
 * target has its own concurrency and queue bounds, and each answer its timeout.
 */
export class RevocationVerifier {
  readonly #o: RevocationVerifierOptions;
  readonly #limits = new Map<string, { sem: Semaphore; queued: number }>();
  readonly #running = new Set<Promise<void>>();

  constructor(options: RevocationVerifierOptions) {
    this.#o = options;
  }

  /** Whether a revocation for this reason is verified. A kill switch's always is. */
  wants(reason: RevokeReason): boolean {
    return reason === 'workload_revoked' || this.#o.config().verify === 'all';
  }

  /** Verifies a revoked lease in the background (the handle is the one the revocation used). */
  schedule(
    lease: Lease,
    provider: Provider | undefined,
    handle: RevocationHandle,
    reason: RevokeReason,
  ): void {
    if (!this.wants(reason)) return;
    const done = this.#verify(lease, provider, handle, reason).catch((err: unknown) => {
      this.#o.logger.error({ lease_id: lease.id, err: safeMessage(err) }, 'verification failed');
    });
    this.#running.add(done);
    void done.finally(() => this.#running.delete(done));
  }

  /**
   * Resolves when every verification started so far has reported (tests, shutdown), or after
   * `timeoutMs` when given.
   */
  async idle(timeoutMs?: number): Promise<void> {
    const settled = (async () => {
      while (this.#running.size > 0) await Promise.all([...this.#running]);
    })();
    if (timeoutMs === undefined) return settled;
    await withTimeout(settled, timeoutMs, 'verification').catch(() => {});
  }

  async #verify(
    lease: Lease,
    provider: Provider | undefined,
    handle: RevocationHandle,
    reason: RevokeReason,
  ): Promise<void> {
    const { verify_concurrency, verify_queue, verify_timeout } = this.#o.config();
    let limit = this.#limits.get(lease.target);
    if (limit === undefined || limit.sem.size !== verify_concurrency) {
      limit = { sem: new Semaphore(verify_concurrency), queued: limit?.queued ?? 0 };
      this.#limits.set(lease.target, limit);
    }
    let answer: { status: VerificationStatus; evidence: string };
    if (limit.queued >= verify_queue) {
      answer = {
        status: 'unverified',
        evidence: `not checked: ${verify_queue} verifications already wait for this target`,
      };
    } else {
      const held = limit;
      held.queued += 1;
      try {
        answer = await held.sem.run(() => this.#ask(lease, provider, handle, verify_timeout));
      } finally {
        held.queued -= 1;
      }
    }
    this.#report(lease, reason, answer);
  }

  async #ask(
    lease: Lease,
    provider: Provider | undefined,
    handle: RevocationHandle,
    timeoutMs: number,
  ): Promise<{ status: VerificationStatus; evidence: string }> {
    if (provider === undefined) {
      return { status: 'unverifiable', evidence: 'the target is no longer configured' };
    }
    let proof: RevocationProof;
    try {
      if (provider.revocationIsLeaseState) {
        proof = await withTimeout(this.#leaseState(lease), timeoutMs, 'lease read');
      } else if (provider.verifyRevoked === undefined) {
        return { status: 'unverifiable', evidence: 'the target offers no revocation check' };
      } else {
        proof = await withTimeout(
          provider.verifyRevoked(handle, lease.id),
          timeoutMs,
          'revocation check',
        );
      }
    } catch (err) {
      return { status: 'unverified', evidence: `the check failed: ${safeMessage(err)}` };
    }
    return readProof(proof);
  }

  /** A token of a lease-state target lives only while introspection finds its lease live. */
  async #leaseState(lease: Lease): Promise<RevocationProof> {
    const live = await liveUntil(this.#o.store, lease.target, { jti: lease.id });
    const state = (await this.#o.store.get(lease.id))?.state ?? 'absent';
    return live === undefined
      ? { gone: true, evidence: `lease is ${state}: introspection answers inactive` }
      : { gone: false, evidence: `lease is ${state}: introspection still answers active` };
  }

  #report(
    lease: Lease,
    reason: RevokeReason,
    answer: { status: VerificationStatus; evidence: string },
  ): void {
    this.#o.metrics.revocationVerifications.inc({ target: lease.target, status: answer.status });
    const { type, severity } = EVENT[answer.status];
    const event: EventInput = {
      type,
      severity,
      outcome: answer.status === 'verified' ? 'success' : 'failure',
      ...leaseEventFields(lease),
      reason,
      detail: {
        verification: answer.status,
        evidence: answer.evidence,
        ...(lease.revokedAt === undefined ? {} : { revoked_at: lease.revokedAt }),
      },
    };
    this.#o.events.emit(event, { failClosed: false }).catch((err: unknown) => {
      this.#o.logger.error({ err: safeMessage(err), type }, 'event not emitted');
    });
  }
}

/**
 * A proof is `gone: true` with its evidence, nothing less: provider modules answer whatever
 * they like, and a truthy `gone`, a missing answer or one without evidence proves nothing.
 */
function readProof(proof: unknown): { status: VerificationStatus; evidence: string } {
  const answer = (typeof proof === 'object' && proof !== null ? proof : {}) as Partial<
    Record<keyof RevocationProof, unknown>
  >;
  if (typeof answer.evidence !== 'string') {
    return { status: 'unverified', evidence: 'the check answered without evidence' };
  }
  return {
    status: answer.gone === true ? 'verified' : 'unverified',
    evidence: answer.evidence.slice(0, 300),
  };
}
