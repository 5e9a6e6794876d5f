import type { ProviderKind, TaskRef } from '../../providers/provider.js';

/**
 * `pending` → `active` → `revoking` → `revoked` | `expired`, with `revoke_failed` after the
 * last attempt (still retried slowly). `pending` is written before the provider mints.
 */
export const LEASE_STATES = [
  'pending',
  'active',
  'revoking',
  'revoked',
  'expired',
  'revoke_failed',
] as const;
export type LeaseState = (typeof LEASE_STATES)[number];

export const FINISHED_STATES: ReadonlySet<LeaseState> = new Set(['revoked', 'expired']);

export type RevokeReason =
  | 'expired'
  | 'owner'
  | 'operator'
  | 'task_ended'
  | 'workload_revoked'
  | 'selector'
  | 'activation_failed'
  | 'pending_timeout'
  | 'audit_unavailable';

export interface Lease {
  id: string;
  workload: string;
  subject: string;
  /** Configured issuer name of the workload identity. */
  issuer: string;
  target: string;
  provider: ProviderKind;
  scope: unknown;
  task: TaskRef;
  /** Verified actor subject (RFC 8693 actor_token), when the request carried one. */
  actor?: string;
  state: LeaseState;
  /** ms since epoch, from the store's clock (Redis `TIME`). */
  createdAt: number;
  expiresAt: number;
  /** Renewal never extends past this (creation + the policy's max_ttl). */
  maxExpiresAt: number;
  revokedAt?: number;
  revokeReason?: RevokeReason;
  /** Provider revocation attempts so far. */
  attempts: number;
  lastError?: string;
  policy: string;
  policyHash: string;
  /** Sealed revocation handle (see `sealing.ts`); never leaves the broker. */
  handle?: string;
}

export interface NewLease {
  workload: string;
  subject: string;
  issuer: string;
  target: string;
  provider: ProviderKind;
  scope: unknown;
  task: TaskRef;
  actor?: string;
  policy: string;
  policyHash: string;
  ttlMs: number;
  maxTtlMs: number;
  /** Per-workload cap on live (unfinished) leases. */
  maxLive: number;
}

/** Exclusive right to revoke one lease at the provider until `until` (visibility timeout). */
export interface Claim {
  lease: Lease;
  token: string;
  reason: RevokeReason;
}

export type ActivateResult =
  | { outcome: 'active'; lease: Lease }
  /** A revocation arrived while minting (kill switch epoch, lease or task revoke): revoke now. */
  | { outcome: 'revoke'; claim: Claim }
  /** The lease vanished (cannot happen unless Redis lost data): revoke from the in-memory handle. */
  | { outcome: 'missing' };

export type RevokeRequest =
  | { status: 'claimed'; claim: Claim }
  /** Still minting: activation will revoke it; the reaper does if the minter died. */
  | { status: 'deferred'; lease: Lease }
  /** Another replica holds the claim. */
  | { status: 'in_progress'; lease: Lease }
  | { status: 'done'; lease: Lease }
  /**
   * Revoked by this call in the store itself: the lease state is the credential (a target in
   * `StoreSettings.inPlaceTargets`), so there is nothing to call at a provider.
   */
  | { status: 'revoked'; lease: Lease }
  /** `retry` of a lease that is not `revoke_failed`. */
  | { status: 'not_retryable'; lease: Lease }
  | { status: 'not_found' };

export type RevokeOutcome =
  | { ok: true }
  /** `retryInMs` is the backoff the caller chose (with jitter). */
  | { ok: false; error: string; retryInMs: number };

export interface FinishResult {
  lease: Lease;
  /** The transition this call made (none when the claim had been lost). */
  transition: 'revoked' | 'expired' | 'retry' | 'revoke_failed' | 'none';
}

export interface LeaseFilter {
  workload?: string;
  task?: string;
  target?: string;
  state?: LeaseState;
}

export interface LeasePage {
  leases: Lease[];
  cursor?: string;
}

export interface WorkloadSummary {
  workload: string;
  live: number;
  blocked: boolean;
  revokedBefore?: number;
}

export interface WorkloadRevocation {
  /** Claims the caller must now revoke at the providers. */
  claims: Claim[];
  /** Leases still minting: activation revokes them. */
  deferred: number;
  /** Leases already claimed by another replica or reaper. */
  inProgress: number;
  epoch: number;
}

/** Who stopped issuance, when and why (`POST /v1/freeze`). */
export interface IssuanceFreeze {
  /** The operator's name as events give it (`break-glass:<name>` for a break-glass token). */
  by: string;
  /** ms since epoch, from the store's clock. */
  at: number;
  reason: string;
}

/** Lease records counted by target, provider kind and state (`LeaseStore.census`). */
export interface LeaseCensus {
  counts: { target: string; provider: ProviderKind; state: LeaseState; leases: number }[];
  /** The store holds more leases than were read: the counts are a floor. */
  truncated: boolean;
}

export interface StoreSettings {
  /** Finished leases stay readable this long. */
  retentionMs: number;
  /** A `pending` lease this old is a crashed mint: the reaper takes it. */
  pendingTimeoutMs: number;
  claimTimeoutMs: number;
  maxAttempts: number;
  /** Slow retry period for `revoke_failed` leases. */
  failedRetryMs: number;
  /** Targets whose credential is the lease state itself (jwt): revoked in place. */
  inPlaceTargets?: () => ReadonlySet<string>;
}

export interface LeaseStore {
  /** The store's clock, ms since epoch (Redis `TIME`). */
  now(): Promise<number>;
  /** Writes a `pending` lease. Throws `workload_blocked`, `lease_cap_reached`. */
  create(input: NewLease): Promise<Lease>;
  /**
   * Stores the sealed handle and moves `pending` → `active`, unless a revocation happened
   * since creation (the workload's `revoked_before` epoch, a lease or task revoke), in which
   * case the lease is claimed for revocation by the caller. The caller names the workload it
   * created the lease for (it holds the lease), so the store need not read it first; a lease
   * of another workload is `missing`.
   */
  activate(lease: Pick<Lease, 'id' | 'workload'>, sealedHandle: string): Promise<ActivateResult>;
  get(id: string): Promise<Lease | null>;
  list(filter: LeaseFilter, limit: number, cursor?: string): Promise<LeasePage>;
  /** Claims leases for revocation (idempotent; finished ones report `done`). */
  requestRevoke(ids: readonly string[], reason: RevokeReason): Promise<RevokeRequest[]>;
  /** Live lease ids of one task of one workload. */
  taskLeases(workload: string, taskId: string): Promise<string[]>;
  /**
   * The kill switch: sets the workload's `revoked_before` epoch (and the block flag when
   * asked), then claims every live lease of that workload. Cost is O(that workload's leases).
   */
  revokeWorkload(
    workload: string,
    options: { block: boolean; reason: string },
    /** Called with each chunk as soon as it is claimed (and what was revoked in place). */
    onClaims?: (claims: Claim[], revokedInPlace: Lease[]) => void,
  ): Promise<WorkloadRevocation>;
  unblock(workload: string): Promise<boolean>;
  isBlocked(workload: string): Promise<boolean>;
  /** Records the provider's answer for a claim. A lost claim (timed out) changes nothing. */
  finish(claim: Claim, outcome: RevokeOutcome): Promise<FinishResult>;
  /** `finish` for many claims at once (one round trip per workload chunk). */
  finishMany(items: readonly { claim: Claim; outcome: RevokeOutcome }[]): Promise<FinishResult[]>;
  /** Workloads that have leases due now (the global hint). */
  dueWorkloads(limit: number): Promise<string[]>;
  /** Claims the due leases of one workload: expired, crashed mints, retries. */
  claimDue(workload: string, limit: number): Promise<Claim[]>;
  /**
   * Moves an active lease's expiry to `expiresAt` (never past `maxExpiresAt`) and, when the
   * provider reissued, stores the new sealed handle. Throws `lease_not_active`.
   */
  extend(id: string, expiresAt: number, sealedHandle?: string): Promise<Lease>;
  /** Claims a `revoke_failed` lease for an immediate retry. */
  retry(id: string): Promise<RevokeRequest>;
  /** Rebuilds the due hint from every known workload (belt and braces for lost hints). */
  repairHints(): Promise<number>;
  workloads(): Promise<WorkloadSummary[]>;
  /**
   * Counts at most `limit` lease records by target, provider and state (for `/metrics`):
   * unfinished leases first, then finished ones still retained. Cost O(limit + workloads).
   */
  census(limit: number): Promise<LeaseCensus>;
  /** Stops issuance, recording who, when and why; `null` resumes it. */
  setFrozen(freeze: IssuanceFreeze | null): Promise<void>;
  /**
   * The freeze in force, or `null`. A freeze whose record cannot be read (the bare `1` an
   * earlier broker wrote) is still a freeze: it reads as `{}`, so issuance stays refused.
   */
  isFrozen(): Promise<Partial<IssuanceFreeze> | null>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
