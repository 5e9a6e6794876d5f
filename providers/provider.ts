import type { JWK } from 'jose';
import type { z } from 'zod';

/**
 * Every provider kind the broker knows. Tables keyed by kind are `Record<ProviderKind, …>`,
 * so adding a kind here fails to compile until every table has it.
 */
export const PROVIDER_KINDS = [
  'jwt',
  'github',
  'postgres',
  'mysql',
  'redis',
  'aws',
  'module',
] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

export type Check = { ok: true } | { ok: false; reason: string };

export interface Health {
  ok: boolean;
  detail?: string;
}

/** Task a credential is bound to (already validated: length- and charset-checked). */
export interface TaskRef {
  id: string;
  intent: string;
  tool?: string;
}

export interface MintRequest<Scope> {
  leaseId: string;
  /** Workload id the credential is for. */
  workload: string;
  /** Verified subject of the workload identity. */
  subject: string;
  /** `iss` of the workload identity token. */
  subjectIssuer?: string;
  /** Verified actor (RFC 8693), when the request carried one. */
  actor?: { subject: string; issuer: string };
  task: TaskRef;
  scope: Scope;
  /** Broker's expiry (ms since epoch, from the lease store's clock). */
  expiresAt: number;
  issuedAt: number;
}

/**
 * What the provider needs later to revoke the credential. JSON-serialisable. Handles that
 * are secret (a GitHub token) are sealed before they are stored; none is ever logged.
 */
export type RevocationHandle = Record<string, unknown>;

export interface Minted<Credential> {
  credential: Credential;
  handle: RevocationHandle;
  /** The provider's own expiry (ms since epoch): the backstop when the broker is gone. */
  providerExpiresAt: number;
}

export interface Provider<Scope = unknown, Ceiling = unknown, Credential = unknown> {
  readonly kind: ProviderKind;
  /** The configured target name (`jwt-internal`, `pg-app`). */
  readonly target: string;
  /** What a request may ask for. */
  readonly scope: z.ZodType<Scope>;
  /** What a policy may allow. */
  readonly ceiling: z.ZodType<Ceiling>;
  /** `scope ⊆ ceiling`, with a reason when not. */
  within(scope: Scope, ceiling: Ceiling): Check;
  /**
   * The workload's trust tier caps what it may hold, whatever a policy allows: a `read`
   * workload never gets a write-capable grant. Absent means the provider has no tiered grants.
   */
  tierAllows?(scope: Scope, tier: 'read' | 'write' | 'admin'): Check;
  mint(req: MintRequest<Scope>): Promise<Minted<Credential>>;
  /**
   * True when the credential is dead as soon as its lease is not active (broker-signed JWTs:
   * introspection reads the lease): the store then revokes it in place, with no provider call.
   */
  readonly revocationIsLeaseState?: boolean;
  /** False when `revoke` ignores the handle (it is then not decrypted). Default true. */
  readonly revokeUsesHandle?: boolean;
  /** Idempotent: a credential that is already gone is success. */
  revoke(handle: RevocationHandle, leaseId: string): Promise<void>;
  /** Only where the provider can extend; absent means `not_renewable`. */
  renew?(handle: RevocationHandle, req: RenewRequest<Scope>): Promise<RenewResult<Credential>>;
  check(): Promise<Health>;
  /**
   * Removes credentials the provider holds under the broker's prefix whose lease is not live
   * (a lost Redis, a crash before the lease was written). Only credentials older than
   * `graceMs` are touched. Returns how many were removed.
   */
  sweep?(isLive: (leaseId: string) => Promise<boolean>, graceMs: number): Promise<number>;
  /**
   * The kill switch, at the provider, in one step for the whole workload: called as the kill
   * switch starts, beside the claims of the workload's leases (never awaited before them), so
   * a provider that queues its work can let each lease's own `revoke` find it done. A failure
   * is logged and the per-lease revocations proceed as usual.
   */
  revokeWorkload?(workload: string): Promise<void>;
  /**
   * Proof of revocation: asks the target whether the credential of a revoked lease is really
   * gone (an account no longer exists, a token answers 401, a Deny holds). Called right after a
   * successful `revoke`, with the same handle. `evidence` says what was looked at and found, in
   * words: never a secret. Absent: the target's revocations are reported as unverifiable.
   */
  verifyRevoked?(handle: RevocationHandle, leaseId: string): Promise<RevocationProof>;
  /**
   * The narrowest ceiling, in this provider's own terms, that holds every scope a workload
   * used: what a least-privilege report offers to paste in place of a wider `allow`. Every
   * scope given was parsed by `scope`. Absent, or `undefined` when the used scopes make no
   * valid ceiling: the report says it has no suggestion.
   */
  suggestCeiling?(used: readonly Scope[]): Ceiling | undefined;
  /**
   * Revokes many leases of this target in a few statements (a kill switch, a wave of expiries):
   * what `revoke` does for each, at once. Resolves with the lease ids it left undone (a handle
   * it refuses, an account it must not touch); the revoker sends those — and every lease of a
   * call that throws — through `revoke` one by one, which stays idempotent. Absent: every lease
   * is revoked on its own.
   */
  revokeMany?(
    items: readonly { handle: RevocationHandle; leaseId: string }[],
  ): Promise<readonly string[]>;
  /** Most leases per `revokeMany` call (default 100); a call takes one concurrency slot. */
  readonly revokeBatchSize?: number;
  /** Concurrency of revocations toward this target (kill switch, reaper). */
  readonly revokeConcurrency: number;
  /**
   * True when the credential carries the task's tool (so the resource sees which tool it was
   * issued for) and a per-tool policy means something past issuance. Absent: the provider
   * never sees tools, and a policy listing `tools` or `tool_ceilings` for it is refused at load.
   */
  readonly seesTools?: boolean;
  /**
   * The longest lifetime the target system gives a credential (ms). A policy whose `max_ttl`
   * is longer is refused at load. Absent: no hard maximum beyond the broker's own.
   */
  readonly maxTtlMs?: number;
  /**
   * Present when the broker itself can verify the tokens this target issues (RFC 7662
   * introspection): the resource servers of the target's audience may ask about them.
   */
  readonly introspection?: TokenIntrospection;
  /** Public keys of what this target signs, for `/.well-known/jwks.json`. */
  publicJwks?(): readonly JWK[];
  /**
   * The OAuth token type a front door (`/oauth/token`) reports when the credential's `token`
   * is a bearer token the resource accepts as such: `jwt` (RFC 8693 token-type `jwt`) or
   * `access_token` (an opaque access token). Absent: the credential is not an OAuth token.
   */
  readonly bearerTokenType?: BearerTokenType;
  close?(): Promise<void>;
}

export type BearerTokenType = 'jwt' | 'access_token';

/** What a target answered when asked whether a revoked credential is gone. */
export interface RevocationProof {
  gone: boolean;
  /** What was checked and what it showed (`role jit_… absent from pg_roles; 0 sessions`). */
  evidence: string;
}

export interface TokenIntrospection {
  /** Workload ids that may introspect this target's tokens. */
  readonly resourceServers: readonly string[];
  /**
   * The claims of a token this target issued, or `null` when it is not one (signature,
   * issuer, audience, type or expiry fail). Revocation is not decided here: the lease is.
   */
  verify(token: string): Promise<Record<string, unknown> | null>;
}

/** What the lease says about a credential being renewed (its handle holds the rest). */
export interface RenewRequest<Scope> {
  leaseId: string;
  workload: string;
  /** Verified subject of the workload identity the lease was issued to. */
  subject: string;
  /** As granted at issuance (from the lease record). */
  scope: Scope;
  task: TaskRef;
  /** The new expiry (ms since epoch), within the policy's `max_ttl`. */
  expiresAt: number;
}

export interface RenewResult<Credential> {
  /** A provider that reissues (jwt) returns the new credential; others return nothing. */
  credential?: Credential;
  handle?: RevocationHandle;
}

export type ProviderErrorCode =
  | 'provider_unavailable'
  | 'provider_rejected'
  | 'provider_misconfigured'
  | 'not_renewable'
  | 'invalid_scope';

/**
 * Providers never throw HTTP errors. Messages must be scrubbed of anything secret the
 * provider handled (passwords, tokens, private keys) before the error is constructed.
 */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly code: ProviderErrorCode;
  readonly retryable: boolean;
  constructor(code: ProviderErrorCode, message: string, retryable: boolean) {
    super(message);
    this.code = code;
    this.retryable = retryable;
  }
}

export interface ProviderContext {
  /** The broker's own public URL: `iss` of broker-signed tokens. */
  brokerUrl: string;
  /** Host/port pairs of the broker's own lease-store Redis: never a valid target. */
  ownRedis?: () => readonly { host: string; port: number }[];
  /** Locks shared by every replica on the broker's lease store. */
  coordination?: ProviderCoordination;
  /** Provider modules loaded from paths (only with `serve --allow-provider-modules`). */
  modules?: ReadonlyMap<
    string,
    { create(config: Record<string, unknown>, ctx: ProviderContext): Provider }
  >;
}

/** What the holder of a coordination lock is told. */
export interface HeldLock {
  /**
   * Grows with every acquisition of the lock: a write stamped with it can be refused once a
   * later holder has written (the holder of an expired lock must not overwrite its successor).
   */
  readonly fence: number;
  /** Whether the lock is still this holder's (ask right before an external write). */
  stillHeld(): Promise<boolean>;
}

export interface ProviderCoordination {
  /**
   * Runs `work` while holding the lock `name` across every replica; waits up to `waitMs` for
   * it. The lock lapses after `ttlMs` if its holder dies. Throws when it cannot be had.
   */
  withLock<T>(
    name: string,
    options: { ttlMs: number; waitMs: number },
    work: (lock: HeldLock) => Promise<T>,
  ): Promise<T>;
}

/** A factory validates its own target config and builds the provider. */
export interface ProviderFactory {
  readonly kind: ProviderKind;
  /** Target config schema (the target's YAML entry, `name` and `provider` included). */
  readonly config: z.ZodType<{ name: string; provider: ProviderKind }>;
  create(config: unknown, ctx: ProviderContext): Provider;
  /**
   * Present when the target's `private_key` must be of one key type (`config validate` checks
   * it, and `--offline-secrets` stands in a key of that type). Absent: the target's
   * `algorithm` field, when it has one, says what a stand-in key is.
   */
  readonly privateKey?: PrivateKeyRule;
}

export interface PrivateKeyRule {
  /** The JWS algorithm a stand-in key is generated for (`RS256`). */
  readonly algorithm: string;
  /** Node's `asymmetricKeyType` the key must have (`rsa`). */
  readonly keyType: string;
  /** What the key is, for the message when it is of another type (`a GitHub App key`). */
  readonly describe: string;
}
