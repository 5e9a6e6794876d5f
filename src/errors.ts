/**
 * Domain errors. Code below HTTP throws these; `src/api/problem.ts` maps each `code` to a
 * status. Messages are safe to show to callers: they never carry a secret or a token.
 */
export type BrokerErrorCode =
  // 401: who are you?
  | 'unauthenticated'
  | 'invalid_token'
  // 403: not allowed
  | 'forbidden'
  | 'policy_denied'
  | 'workload_blocked'
  | 'scope_exceeds_ceiling'
  | 'intent_not_allowed'
  // 404
  | 'not_found'
  | 'lease_not_found'
  | 'target_unknown'
  // 409
  | 'lease_not_active'
  | 'lease_not_retryable'
  | 'revoked_during_issuance'
  // 413
  | 'payload_too_large'
  // 415
  | 'unsupported_media_type'
  // 422
  | 'invalid_request'
  | 'invalid_json'
  | 'scope_invalid'
  | 'ttl_out_of_range'
  | 'not_renewable'
  // 429
  | 'lease_cap_reached'
  | 'rate_limited'
  // 502
  | 'provider_failed'
  // 503
  | 'issuance_frozen'
  | 'store_unavailable'
  | 'audit_unavailable'
  | 'not_ready';

export interface DenyReason {
  /** Stable machine-readable reason, e.g. `scope_exceeds_ceiling`. */
  readonly code: string;
  readonly message: string;
  /** The policy that produced the reason, when one did. */
  readonly policy?: string;
}

export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  readonly code: BrokerErrorCode;
  readonly reasons: readonly DenyReason[];
  /** Seconds after which a retry may succeed (429/503). */
  readonly retryAfter: number | undefined;

  constructor(
    code: BrokerErrorCode,
    message: string,
    options: { reasons?: readonly DenyReason[]; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.reasons = options.reasons ?? [];
    this.retryAfter = options.retryAfter;
  }
}

export function isBrokerError(err: unknown): err is BrokerError {
  return err instanceof BrokerError;
}
