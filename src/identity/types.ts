import type { JWTPayload } from 'jose';
import type { OperatorRole, WorkloadConfig } from '../config/schema.js';

/** A workload JWT that passed every check of its issuer's profile. */
export interface VerifiedIdentity {
  /** Name of the configured issuer that verified it (`k8s-prod`). */
  issuer: string;
  /** The `iss` claim. */
  iss: string;
  subject: string;
  claims: JWTPayload;
  /** SHA-256 (hex) of the raw token: what logs and events carry instead of the token. */
  tokenHash: string;
  /** `exp` in ms since epoch. */
  expiresAt: number;
}

/** A verified identity mapped to its configured workload. */
export interface WorkloadPrincipal {
  kind: 'workload';
  workload: WorkloadConfig;
  identity: VerifiedIdentity;
}

export interface OperatorPrincipal {
  kind: 'operator';
  /** `sub` of the operator JWT, or the break-glass entry's name. */
  name: string;
  roles: readonly OperatorRole[];
  via: 'jwt' | 'break_glass';
  /**
   * When the token stops being valid (ms since epoch): the JWT's `exp`, or the break-glass
   * entry's `expires_at`. What outlives a request (an event feed) ends then.
   */
  expiresAt: number;
  /** Set for operator JWTs. */
  issuer?: string;
  tokenHash: string;
}

export type Principal = WorkloadPrincipal | OperatorPrincipal;

/** Why a token was refused; carried in `auth.failed` events, never shown in full to callers. */
export type AuthFailureReason =
  | 'missing_token'
  | 'malformed'
  | 'too_large'
  | 'unsupported_token'
  | 'unknown_issuer'
  | 'algorithm_not_allowed'
  | 'forbidden_header'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'too_old'
  | 'claim_invalid'
  | 'audience_mismatch'
  | 'issuer_mismatch'
  | 'jwks_unavailable'
  | 'no_workload'
  | 'replayed'
  /** A token the broker itself issued whose lease was revoked, ended or has expired. */
  | 'revoked'
  | 'token_review_failed'
  | 'token_review_refused'
  | 'break_glass_invalid'
  | 'break_glass_limited'
  | 'no_role'
  | 'client_mismatch';

export class AuthError extends Error {
  override readonly name = 'AuthError';
  readonly reason: AuthFailureReason;
  /** SHA-256 of the offered token, when there was one. */
  readonly tokenHash: string | undefined;
  /** Issuer name, when the token named a configured one. */
  readonly issuer: string | undefined;
  readonly subject: string | undefined;
  constructor(
    reason: AuthFailureReason,
    message: string,
    details: { tokenHash?: string; issuer?: string; subject?: string } = {},
  ) {
    super(message);
    this.reason = reason;
    this.tokenHash = details.tokenHash;
    this.issuer = details.issuer;
    this.subject = details.subject;
  }
}
