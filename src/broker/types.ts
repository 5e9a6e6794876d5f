import type { BearerTokenType } from '../../providers/provider.js';
import type { Approval } from '../approvals/types.js';
import type { Lease, WorkloadSummary } from '../leases/types.js';

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

/** A grant held for an operator's decision: repeat the request after `retryAfter` seconds. */
export interface AwaitingApproval {
  approval: Approval;
  retryAfter: number;
}

/** What a request for one lease's revocation ended as. */
export interface LeaseRevocation {
  lease: Lease;
  /** `revoked`/`expired`: done; `revoking`: in flight (here or elsewhere); `revoke_failed`. */
  state: Lease['state'];
}

/** What a bulk revocation did by the time it answered. */
export type RevocationCounts = {
  revoked: number;
  revoking: number;
  failed: number;
};

export type WorkloadListing = WorkloadSummary & { tier?: string; configured: boolean };

export type WorkloadRevocationResult = RevocationCounts & {
  workload: string;
  blocked: boolean;
};
