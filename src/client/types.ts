import type { LeaseState } from '../leases/types.js';

export type { LeaseState };

/** What the workload is doing with the credential; the broker's policy checks `intent`. */
export interface Task {
  /** 1-128 of `A-Z a-z 0-9 . _ : @ # / -`, starting with a letter or digit. */
  id: string;
  /** 1-64 of `a-z 0-9 . _ -`. */
  intent: string;
  /** The MCP tool asking, e.g. `list_tickets`. */
  tool?: string;
  /** Free-form JSON (at most 4 KiB) recorded with the lease and its events. */
  context?: Record<string, unknown>;
}

export interface CredentialRequest {
  /** Target name from the broker's configuration, e.g. `tickets-api`. */
  target: string;
  /** Provider-specific; for a `jwt` target `{ scopes: ['tickets:read'] }`. */
  scope: Record<string, unknown>;
  /** Seconds; the policy's `default_ttl` when absent, refused above its `max_ttl`. */
  ttl?: number;
  task: Task;
}

export interface TaskRef {
  id: string;
  intent: string;
  tool?: string;
}

/** An issued credential and the lease that bounds it. The credential is shown only once. */
export interface Lease<C = unknown> {
  leaseId: string;
  target: string;
  provider: string;
  workload: string;
  scope: unknown;
  task: TaskRef;
  issuedAt: Date;
  expiresAt: Date;
  credential: C;
}

/** The credential of a `jwt` target. */
export interface JwtCredential {
  token: string;
  token_type: 'Bearer';
  audience: string;
  expires_at: string;
}

/** Lease metadata from `GET /v1/leases/{id}`: never the credential. */
export interface LeaseInfo {
  leaseId: string;
  workload: string;
  subject: string;
  issuer: string;
  target: string;
  provider: string;
  scope: unknown;
  task: TaskRef;
  actor?: string;
  state: LeaseState;
  createdAt: Date;
  expiresAt: Date;
  maxExpiresAt: Date;
  revokedAt?: Date;
  revokeReason?: string;
  attempts: number;
  lastError?: string;
  policy: string;
  policyHash: string;
}

export interface Revocation {
  leaseId: string;
  state: LeaseState;
  /** The broker accepted the revocation but it is still in flight (HTTP 202). */
  pending: boolean;
}

export interface TaskRevocation {
  task: string;
  workload: string;
  revoked: number;
  revoking: number;
  failed: number;
}

/** RFC 7662 §2.2; the other claims are those of the introspected token. */
export interface Introspection {
  active: boolean;
  scope?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  jti?: string;
  token_type?: string;
  [claim: string]: unknown;
}
