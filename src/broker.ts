import { type BearerTokenType, type Provider, ProviderError } from '../providers/provider.js';
import type { WorkloadConfig } from './config/schema.js';
import { BrokerError, type DenyReason } from './errors.js';
import type { EventEmitter, EventInput } from './events/types.js';
import { hasRole } from './identity/roles.js';
import type { OperatorPrincipal, Principal, WorkloadPrincipal } from './identity/types.js';
import type { Revoker, RevokeTally } from './leases/revoker.js';
import { safeMessage, untilDeadline } from './leases/revoker.js';
import type { HandleSealer } from './leases/sealing.js';
import {
  FINISHED_STATES,
  type Lease,
  type LeaseFilter,
  type LeasePage,
  type LeaseStore,
  type RevokeReason,
  type RevokeRequest,
  type WorkloadSummary,
} from './leases/types.js';
import type { Caller } from './lib/caller.js';
import { globToRegExp } from './lib/glob.js';
import type { Logger } from './lib/logger.js';
import type { Metrics } from './metrics.js';
import type { PolicyEngine } from './policy/engine.js';

export interface CredentialRequest {
  target: string;
  scope: unknown;
  /** Seconds. */
  ttl?: number;
  task: { id: string; intent: string; tool?: string; context?: Record<string, unknown> };
  /** A verified actor/task assertion (RFC 8693 `actor_token`), when the request carried one. */
  actor?: { subject: string; issuer: string; claims: Record<string, unknown> };
}

export interface IssuedCredential {
  lease: Lease;
  credential: unknown;
  /** Set when the credential's `token` is an OAuth bearer token (the provider says which). */
  tokenType?: BearerTokenType;
}

/** What a request for one lease's revocation ended as. */
export interface LeaseRevocation {
  lease: Lease;
  /** `revoked`/`expired`: done; `revoking`: in flight (here or elsewhere); `revoke_failed`. */
  state: Lease['state'];
}

export type WorkloadListing = WorkloadSummary & { tier?: string; configured: boolean };

export interface WorkloadRevocationResult {
  workload: string;
  blocked: boolean;
  revoked: number;
  revoking: number;
  failed: number;
}

/** Everything the broker runs on; replaced as a whole when the configuration is reloaded. */
export interface BrokerRuntime {
  workloads: ReadonlyMap<string, WorkloadConfig>;
  providers: ReadonlyMap<string, Provider>;
  policy: PolicyEngine;
}

export interface BrokerOptions {
  store: LeaseStore;
  /** The current keyring (a reload can rotate it). */
  sealer: () => HandleSealer;
  events: EventEmitter;
  revoker: Revoker;
  metrics: Metrics;
  logger: Logger;
  runtime: () => BrokerRuntime;
  /** Deadline of one kill-switch call; the reaper finishes what is left. */
  killSwitchDeadlineMs: number;
}

/**
 * Issuance and revocation orchestration, below HTTP. The order of issuance is the
 * invariant the whole design rests on: policy → lease written `pending` → mint → handle
 * sealed onto the lease and activated → `credential.issued` written to the required sinks.
 * Any failure after the mint revokes what was minted before the error is returned.
 */
export class Broker {
  readonly #o: BrokerOptions;

  constructor(options: BrokerOptions) {
    this.#o = options;
  }

  async issue(
    principal: WorkloadPrincipal,
    req: CredentialRequest,
    ctx: Caller,
  ): Promise<IssuedCredential> {
    const { store, metrics } = this.#o;
    const runtime = this.#o.runtime();
    const workload = principal.workload;
    const base = this.#eventBase(principal, ctx, req);
    const deny = async (err: BrokerError, policyHash?: string): Promise<never> => {
      metrics.denied.inc({ code: err.code });
      await this.#emit({
        ...base,
        type: 'credential.denied',
        outcome: 'denied',
        reason: err.code,
        ...(policyHash === undefined ? {} : { policy_hash: policyHash }),
        ...(err.reasons.length > 0 ? { detail: { reasons: err.reasons } } : {}),
      });
      throw err;
    };

    if (await store.isFrozen()) {
      return deny(
        new BrokerError('issuance_frozen', 'issuance is frozen by an operator', { retryAfter: 60 }),
      );
    }
    // A blocked workload is refused by `store.create` itself, atomically with the write.
    const decision = runtime.policy.decide({
      workload: { id: workload.id, tier: workload.tier },
      claims: principal.identity.claims as Record<string, unknown>,
      target: req.target,
      scope: req.scope,
      ...(req.ttl === undefined ? {} : { ttlMs: req.ttl * 1000 }),
      task: req.task,
      ...(req.actor === undefined ? {} : { actor: req.actor }),
      request: { time: Date.now(), ...(ctx.sourceIp === undefined ? {} : { ip: ctx.sourceIp }) },
    });
    if (!decision.allow) {
      const message = decision.reasons[0]?.message ?? 'no policy allows this request';
      return deny(
        new BrokerError(decision.code, message, { reasons: decision.reasons }),
        decision.policyHash,
      );
    }
    // The provider that parsed the scope is the one that mints it: looked up once, by the engine.
    const { provider } = decision;

    let lease: Lease;
    try {
      lease = await store.create({
        workload: workload.id,
        subject: principal.identity.subject,
        issuer: principal.identity.issuer,
        target: decision.target,
        provider: provider.kind,
        scope: decision.scope,
        task: taskRef(req.task),
        ...(req.actor === undefined ? {} : { actor: req.actor.subject }),
        policy: decision.policy,
        policyHash: decision.policyHash,
        ttlMs: decision.ttlMs,
        maxTtlMs: decision.maxTtlMs,
        maxLive: workload.max_active_leases,
      });
    } catch (err) {
      if (
        err instanceof BrokerError &&
        (err.code === 'workload_blocked' || err.code === 'lease_cap_reached')
      ) {
        return deny(err, decision.policyHash);
      }
      throw err;
    }

    const stopMint = metrics.mintSeconds.startTimer({ target: lease.target });
    let minted: Awaited<ReturnType<Provider['mint']>>;
    try {
      minted = await decision.mint({
        leaseId: lease.id,
        workload: workload.id,
        subject: principal.identity.subject,
        subjectIssuer: principal.identity.iss,
        ...(req.actor === undefined
          ? {}
          : { actor: { subject: req.actor.subject, issuer: req.actor.issuer } }),
        task: lease.task,
        expiresAt: lease.expiresAt,
        issuedAt: lease.createdAt,
      });
    } catch (err) {
      stopMint();
      // Nothing usable was returned; anything half-made is cleaned from the lease id.
      await this.#abandon(lease, ctx);
      this.#o.logger.warn(
        { lease_id: lease.id, target: lease.target, err: safeMessage(err) },
        'mint failed',
      );
      throw new BrokerError(
        'provider_failed',
        `target ${lease.target} could not mint a credential`,
        { cause: err },
      );
    }
    stopMint();

    const sealed = this.#o.sealer().seal(lease.id, minted.handle);
    let activated: Awaited<ReturnType<LeaseStore['activate']>>;
    try {
      activated = await store.activate(lease, sealed);
    } catch (err) {
      await this.#revokeUnrecorded(provider, minted.handle, lease.id);
      throw err;
    }
    if (activated.outcome === 'missing') {
      await this.#revokeUnrecorded(provider, minted.handle, lease.id);
      throw new BrokerError('store_unavailable', 'the lease vanished during issuance', {
        retryAfter: 2,
      });
    }
    if (activated.outcome === 'revoke') {
      await this.#o.revoker.revokeOne(activated.claim, ctx);
      const blocked = await store.isBlocked(workload.id);
      return deny(
        new BrokerError(
          blocked ? 'workload_blocked' : 'revoked_during_issuance',
          'the credential was revoked while it was being issued',
        ),
        decision.policyHash,
      );
    }

    try {
      await this.#o.events.emit(
        {
          ...base,
          type: 'credential.issued',
          outcome: 'success',
          lease_id: lease.id,
          provider: lease.provider,
          scope: lease.scope,
          policy: decision.policy,
          policy_hash: decision.policyHash,
          expires_at: new Date(lease.expiresAt).toISOString(),
        },
        { failClosed: true },
      );
    } catch (err) {
      // Fail closed: an issuance the audit trail cannot record must not stand.
      const [request] = await store.requestRevoke([lease.id], 'audit_unavailable');
      if (request?.status === 'claimed') {
        await this.#o.revoker.revokeOne(request.claim, ctx);
      } else if (request?.status === 'revoked') {
        this.#o.revoker.recordInPlace([request.lease], ctx);
      }
      throw err;
    }
    metrics.issued.inc({ target: lease.target, provider: lease.provider });
    return {
      lease: activated.lease,
      credential: minted.credential,
      ...(provider.bearerTokenType === undefined ? {} : { tokenType: provider.bearerTokenType }),
    };
  }

  /** After a failed mint: mark the lease for revocation and let activation's path clean up. */
  async #abandon(lease: Lease, ctx: Caller): Promise<void> {
    try {
      await this.#o.store.requestRevoke([lease.id], 'activation_failed');
      const result = await this.#o.store.activate(lease, this.#o.sealer().seal(lease.id, {}));
      if (result.outcome === 'revoke') await this.#o.revoker.revokeOne(result.claim, ctx);
    } catch (err) {
      // The reaper takes the pending lease at its timeout.
      this.#o.logger.warn(
        { lease_id: lease.id, err: safeMessage(err) },
        'could not clean up after a failed mint',
      );
    }
  }

  /** The store could not record the credential: revoke it straight from memory. */
  async #revokeUnrecorded(
    provider: Provider,
    handle: Record<string, unknown>,
    leaseId: string,
  ): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        await provider.revoke(handle, leaseId);
        return;
      } catch (err) {
        this.#o.logger.error(
          { lease_id: leaseId, attempt, err: safeMessage(err) },
          'revoking an unrecorded credential failed',
        );
      }
    }
  }

  /** A workload sees only its own leases; viewers see all. Anything else is a 404. */
  async getLease(id: string, by: Principal): Promise<Lease> {
    const lease = await this.#o.store.get(id);
    if (!lease || !canSee(by, lease)) throw new BrokerError('lease_not_found', `no lease ${id}`);
    return lease;
  }

  async revokeLease(id: string, by: Principal, ctx: Caller): Promise<LeaseRevocation> {
    const lease = await this.getLease(id, by);
    if (by.kind === 'operator' && !hasRole(by, 'revoker')) {
      throw new BrokerError('forbidden', 'revoking a lease needs the revoker role');
    }
    const reason: RevokeReason = by.kind === 'workload' ? 'owner' : 'operator';
    const [request] = await this.#o.store.requestRevoke([lease.id], reason);
    return this.#settle(request, lease, ctx);
  }

  async #settle(
    request: Awaited<ReturnType<LeaseStore['requestRevoke']>>[number] | undefined,
    lease: Lease,
    ctx: Caller,
  ): Promise<LeaseRevocation> {
    switch (request?.status) {
      case 'claimed': {
        const result = await this.#o.revoker.revokeOne(request.claim, ctx);
        return { lease: result.lease, state: result.lease.state };
      }
      case 'revoked':
        this.#o.revoker.recordInPlace([request.lease], ctx);
        return { lease: request.lease, state: request.lease.state };
      case 'deferred':
      case 'in_progress':
        return { lease: request.lease, state: 'revoking' };
      case 'done':
      case 'not_retryable':
        return { lease: request.lease, state: request.lease.state };
      default:
        return { lease, state: lease.state };
    }
  }

  /**
   * Extends a lease within its policy's `max_ttl` (counted from issuance) where the provider
   * can: `jwt` reissues the token, PostgreSQL moves `VALID UNTIL`, MySQL and Redis ACL users
   * carry no expiry of their own so only the broker's deadline moves.
   */
  async renewLease(
    id: string,
    by: WorkloadPrincipal,
    ttlSeconds: number | undefined,
    ctx: Caller,
  ): Promise<{ lease: Lease; credential?: unknown }> {
    const lease = await this.getLease(id, by);
    if (lease.state !== 'active')
      throw new BrokerError('lease_not_active', `lease ${id} is ${lease.state}`);
    const provider = this.#o.runtime().providers.get(lease.target);
    if (!provider?.renew) {
      throw new BrokerError(
        'not_renewable',
        `credentials of target ${lease.target} cannot be renewed`,
      );
    }
    const now = await this.#o.store.now();
    const ttlMs = ttlSeconds === undefined ? lease.expiresAt - lease.createdAt : ttlSeconds * 1000;
    const expiresAt = Math.min(now + ttlMs, lease.maxExpiresAt);
    if (expiresAt <= lease.expiresAt) {
      throw new BrokerError(
        'ttl_out_of_range',
        'the lease already reaches its maximum lifetime (max_ttl)',
      );
    }
    const handle = lease.handle === undefined ? {} : this.#o.sealer().open(lease.id, lease.handle);
    let renewed: Awaited<ReturnType<NonNullable<Provider['renew']>>>;
    try {
      renewed = await provider.renew(handle, {
        leaseId: lease.id,
        workload: lease.workload,
        subject: lease.subject,
        scope: lease.scope,
        task: lease.task,
        expiresAt,
      });
    } catch (err) {
      if (err instanceof ProviderError && err.code === 'not_renewable') {
        throw new BrokerError(
          'not_renewable',
          `this credential of ${lease.target} cannot be renewed`,
        );
      }
      this.#o.logger.warn({ lease_id: id, err: safeMessage(err) }, 'renewal failed');
      throw new BrokerError(
        'provider_failed',
        `target ${lease.target} could not renew the credential`,
      );
    }
    const sealed =
      renewed.handle === undefined ? undefined : this.#o.sealer().seal(lease.id, renewed.handle);
    const extended = await this.#o.store.extend(lease.id, expiresAt, sealed);
    await this.#emit({
      type: 'lease.renewed',
      outcome: 'success',
      request_id: ctx.requestId,
      workload: extended.workload,
      subject: extended.subject,
      issuer: extended.issuer,
      target: extended.target,
      provider: extended.provider,
      lease_id: extended.id,
      task: extended.task,
      policy: extended.policy,
      policy_hash: extended.policyHash,
      expires_at: new Date(extended.expiresAt).toISOString(),
      ...(ctx.sourceIp === undefined ? {} : { source_ip: ctx.sourceIp }),
    });
    return renewed.credential === undefined
      ? { lease: extended }
      : { lease: extended, credential: renewed.credential };
  }

  /** `POST /v1/policy/simulate`: the decision for a hypothetical request; nothing is minted. */
  simulate(req: {
    workload: string;
    claims: Record<string, unknown>;
    actor?: { subject: string; issuer: string; claims: Record<string, unknown> };
    target: string;
    scope: unknown;
    ttl?: number;
    task: CredentialRequest['task'];
    ip?: string;
  }): {
    allow: boolean;
    policy?: string;
    policy_hash: string;
    code?: string;
    ttl?: number;
    tier: WorkloadConfig['tier'];
    reasons: readonly DenyReason[];
  } {
    const runtime = this.#o.runtime();
    const workload = runtime.workloads.get(req.workload);
    if (!workload) throw new BrokerError('not_found', `no workload ${req.workload}`);
    const decision = runtime.policy.decide({
      workload: { id: workload.id, tier: workload.tier },
      claims: req.claims,
      ...(req.actor === undefined ? {} : { actor: req.actor }),
      target: req.target,
      scope: req.scope,
      ...(req.ttl === undefined ? {} : { ttlMs: req.ttl * 1000 }),
      task: req.task,
      request: { time: Date.now(), ...(req.ip === undefined ? {} : { ip: req.ip }) },
    });
    return decision.allow
      ? {
          allow: true,
          policy: decision.policy,
          policy_hash: decision.policyHash,
          ttl: decision.ttlMs / 1000,
          tier: workload.tier,
          reasons: [],
        }
      : {
          allow: false,
          policy_hash: decision.policyHash,
          code: decision.code,
          tier: workload.tier,
          reasons: decision.reasons,
        };
  }

  /** Retries a `revoke_failed` lease now. */
  async retryLease(id: string, by: OperatorPrincipal, ctx: Caller): Promise<LeaseRevocation> {
    const lease = await this.getLease(id, by);
    const request = await this.#o.store.retry(id);
    if (request.status === 'not_retryable') {
      throw new BrokerError(
        'lease_not_retryable',
        `lease ${id} is ${request.lease.state}, not revoke_failed`,
      );
    }
    return this.#settle(request, lease, ctx);
  }

  /**
   * Incident response: revokes every live lease matching a selector (target, issuer,
   * subject glob). Costs a scan of all leases, unlike the per-workload kill switch.
   */
  async revokeBySelector(
    selector: { target?: string; issuer?: string; subject?: string; workload?: string },
    reason: string,
    _by: OperatorPrincipal,
    ctx: Caller,
  ): Promise<{ matched: number; revoked: number; revoking: number; failed: number }> {
    const subject = selector.subject === undefined ? undefined : globToRegExp(selector.subject, '');
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#o.store.list(
        {
          ...(selector.workload === undefined ? {} : { workload: selector.workload }),
          ...(selector.target === undefined ? {} : { target: selector.target }),
        },
        500,
        cursor,
      );
      for (const lease of page.leases) {
        if (FINISHED_STATES.has(lease.state)) continue;
        if (selector.issuer !== undefined && lease.issuer !== selector.issuer) continue;
        if (subject && !subject.test(lease.subject)) continue;
        ids.push(lease.id);
      }
      cursor = page.cursor;
    } while (cursor);
    const requests = await this.#o.store.requestRevoke(ids, 'selector');
    const counts = await this.#revokeRequested(requests, ctx, this.#o.killSwitchDeadlineMs);
    const result = { matched: ids.length, ...counts };
    await this.#emit({
      type: 'workload.revoked',
      severity: 'high',
      outcome: 'success',
      request_id: ctx.requestId,
      reason,
      ...actorOf(ctx),
      counts: result,
      detail: { selector },
      ...(ctx.sourceIp === undefined ? {} : { source_ip: ctx.sourceIp }),
    });
    return result;
  }

  /** Emergency stop of all issuance (revocation keeps working). */
  async setFrozen(
    frozen: boolean,
    reason: string,
    _by: OperatorPrincipal,
    ctx: Caller,
  ): Promise<void> {
    await this.#o.store.setFrozen(frozen);
    await this.#emit({
      type: frozen ? 'issuance.frozen' : 'issuance.unfrozen',
      severity: frozen ? 'high' : 'medium',
      outcome: 'success',
      request_id: ctx.requestId,
      reason,
      ...actorOf(ctx),
      ...(ctx.sourceIp === undefined ? {} : { source_ip: ctx.sourceIp }),
    });
  }

  /** Revokes what `requestRevoke` answered: claims at their providers, in-place ones recorded. */
  async #revokeRequested(
    requests: readonly RevokeRequest[],
    ctx: Caller,
    deadlineMs?: number,
  ): Promise<{ revoked: number; revoking: number; failed: number }> {
    const claims = requests.flatMap((r) => (r.status === 'claimed' ? [r.claim] : []));
    const inPlace = requests.flatMap((r) => (r.status === 'revoked' ? [r.lease] : []));
    this.#o.revoker.recordInPlace(inPlace, ctx);
    const tally = await this.#o.revoker.execute(claims, ctx, deadlineMs);
    const waiting = requests.filter(
      (r) => r.status === 'deferred' || r.status === 'in_progress',
    ).length;
    return {
      revoked: tally.revoked + inPlace.length,
      revoking: tally.pending + waiting,
      failed: tally.failed,
    };
  }

  /** Ends a task: revokes the task's leases of one workload. */
  async endTask(
    workload: string,
    taskId: string,
    by: Principal,
    ctx: Caller,
  ): Promise<{
    task: string;
    workload: string;
    revoked: number;
    revoking: number;
    failed: number;
  }> {
    if (by.kind === 'workload' && by.workload.id !== workload)
      throw new BrokerError('not_found', 'no such task');
    const ids = await this.#o.store.taskLeases(workload, taskId);
    const requests = await this.#o.store.requestRevoke(ids, 'task_ended');
    const counts = await this.#revokeRequested(requests, ctx);
    await this.#emit({
      type: 'task.ended',
      outcome: 'success',
      workload,
      task: {
        id: taskId,
        intent: taskIntentOf(requests),
      },
      request_id: ctx.requestId,
      ...actorOf(ctx),
      ...(ctx.sourceIp === undefined ? {} : { source_ip: ctx.sourceIp }),
      counts,
    });
    return { task: taskId, workload, ...counts };
  }

  /** The kill switch: every lease of one workload, in one call. */
  async revokeWorkload(
    workload: string,
    options: { reason: string; block: boolean },
    _by: OperatorPrincipal,
    ctx: Caller,
  ): Promise<WorkloadRevocationResult> {
    // The deadline counts from the call, and each chunk of claims is revoked as soon as it
    // is claimed rather than after the last one.
    const deadline = Date.now() + this.#o.killSwitchDeadlineMs;
    const tally: RevokeTally = { revoked: 0, failed: 0, pending: 0 };
    const running: Promise<void>[] = [];
    const revokedInPlace: Lease[] = [];
    const revocation = await this.#o.store.revokeWorkload(workload, options, (claims, inPlace) => {
      tally.revoked += inPlace.length;
      revokedInPlace.push(...inPlace);
      running.push(this.#o.revoker.executeInto(claims, ctx, tally));
    });
    // Their events are chained once the store work is done, not between its chunks.
    this.#o.revoker.recordInPlace(revokedInPlace, ctx);
    await untilDeadline(
      Promise.all(running).then(() => undefined),
      deadline - Date.now(),
    );
    const result: WorkloadRevocationResult = {
      workload,
      blocked: options.block,
      revoked: tally.revoked,
      revoking: tally.pending + revocation.deferred + revocation.inProgress,
      failed: tally.failed,
    };
    const common = {
      outcome: 'success' as const,
      workload,
      request_id: ctx.requestId,
      reason: options.reason,
      ...actorOf(ctx),
    };
    await this.#emit({
      ...common,
      type: 'workload.revoked',
      severity: 'high',
      counts: { revoked: result.revoked, revoking: result.revoking, failed: result.failed },
      ...(ctx.sourceIp === undefined ? {} : { source_ip: ctx.sourceIp }),
    });
    if (options.block) await this.#emit({ ...common, type: 'workload.blocked', severity: 'high' });
    return result;
  }

  async unblockWorkload(workload: string, _by: OperatorPrincipal, ctx: Caller): Promise<boolean> {
    const changed = await this.#o.store.unblock(workload);
    if (changed) {
      await this.#emit({
        type: 'workload.unblocked',
        outcome: 'success',
        workload,
        request_id: ctx.requestId,
        ...actorOf(ctx),
      });
    }
    return changed;
  }

  async listLeases(filter: LeaseFilter, limit: number, cursor?: string): Promise<LeasePage> {
    return this.#o.store.list(filter, limit, cursor);
  }

  /** Configured workloads joined with what the store knows (live leases, block flag). */
  async listWorkloads(): Promise<WorkloadListing[]> {
    const known = new Map((await this.#o.store.workloads()).map((w) => [w.workload, w]));
    const out: WorkloadListing[] = [...this.#o.runtime().workloads.values()].map((w) => ({
      ...(known.get(w.id) ?? { workload: w.id, live: 0, blocked: false }),
      tier: w.tier,
      configured: true,
    }));
    for (const [id, summary] of known) {
      if (!this.#o.runtime().workloads.has(id)) out.push({ ...summary, configured: false });
    }
    return out.sort((a, b) => a.workload.localeCompare(b.workload));
  }

  /**
   * RFC 7662 for tokens the broker can verify itself. The caller must be a resource server of the token's
   * audience; anything else answers `{active: false}` so nothing leaks about other tokens.
   */
  async introspect(token: string, caller: WorkloadPrincipal): Promise<Record<string, unknown>> {
    const inactive = { active: false };
    for (const provider of this.#o.runtime().providers.values()) {
      const introspection = provider.introspection;
      if (!introspection?.resourceServers.includes(caller.workload.id)) continue;
      const payload = await introspection.verify(token);
      if (!payload || typeof payload.jti !== 'string') continue;
      const lease = await this.#o.store.get(payload.jti);
      if (lease?.state !== 'active' || lease.target !== provider.target) return inactive;
      if (lease.expiresAt <= (await this.#o.store.now())) return inactive;
      return {
        active: true,
        ...payload,
        exp: Math.floor(lease.expiresAt / 1000),
        token_type: 'Bearer',
      };
    }
    return inactive;
  }

  async #emit(event: EventInput): Promise<void> {
    try {
      await this.#o.events.emit(event, { failClosed: false });
    } catch (err) {
      this.#o.logger.error({ type: event.type, err: safeMessage(err) }, 'event not emitted');
    }
  }

  #eventBase(
    principal: WorkloadPrincipal,
    ctx: Caller,
    req: CredentialRequest,
  ): Omit<EventInput, 'type' | 'outcome'> {
    return {
      request_id: ctx.requestId,
      workload: principal.workload.id,
      subject: principal.identity.subject,
      issuer: principal.identity.issuer,
      target: req.target,
      task: taskRef(req.task),
      token_sha256: principal.identity.tokenHash,
      ...(ctx.sourceIp === undefined ? {} : { source_ip: ctx.sourceIp }),
    };
  }
}

function taskIntentOf(requests: readonly RevokeRequest[]): string {
  for (const r of requests) {
    if (r.status === 'claimed') return r.claim.lease.task.intent;
    if (r.status === 'revoked') return r.lease.task.intent;
  }
  return '';
}

function taskRef(task: CredentialRequest['task']): Lease['task'] {
  return task.tool === undefined
    ? { id: task.id, intent: task.intent }
    : { id: task.id, intent: task.intent, tool: task.tool };
}

function canSee(by: Principal, lease: Lease): boolean {
  return by.kind === 'workload' ? by.workload.id === lease.workload : hasRole(by, 'viewer');
}

function actorOf(caller: Caller): { actor?: string } {
  return caller.actor === undefined ? {} : { actor: caller.actor };
}
