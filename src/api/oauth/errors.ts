import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { BrokerError, type BrokerErrorCode } from '../../errors.js';

/**
 * RFC 6749 §5.2 codes (`invalid_client` is a 401), RFC 8693 §2.2.2's `invalid_target`, and the two §4.1.2.1 codes for
 * a server that cannot answer now (§5.2 has none).
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'temporarily_unavailable'
  // RFC 8628 §3.5: a grant that waits for a human (an approval), or that a human refused.
  | 'authorization_pending'
  | 'access_denied'
  | 'server_error';

export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  readonly code: OAuthErrorCode;
  readonly status: ContentfulStatusCode;
  readonly retryAfter: number | undefined;
  constructor(
    code: OAuthErrorCode,
    description: string,
    status: ContentfulStatusCode = 400,
    retryAfter?: number,
  ) {
    super(description);
    this.code = code;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** Every domain error has one OAuth answer; `undefined` leaves it to `app.onError` (500). */
const FROM_BROKER: Record<
  BrokerErrorCode,
  { code: OAuthErrorCode; status: ContentfulStatusCode } | undefined
> = {
  unauthenticated: { code: 'invalid_grant', status: 400 },
  invalid_token: { code: 'invalid_grant', status: 400 },
  forbidden: { code: 'unauthorized_client', status: 400 },
  policy_denied: { code: 'unauthorized_client', status: 400 },
  workload_blocked: { code: 'unauthorized_client', status: 400 },
  workload_review_overdue: { code: 'unauthorized_client', status: 400 },
  intent_not_allowed: { code: 'unauthorized_client', status: 400 },
  revoked_during_issuance: { code: 'unauthorized_client', status: 400 },
  target_unknown: { code: 'invalid_target', status: 400 },
  scope_invalid: { code: 'invalid_scope', status: 400 },
  scope_exceeds_ceiling: { code: 'invalid_scope', status: 400 },
  invalid_request: { code: 'invalid_request', status: 400 },
  invalid_json: { code: 'invalid_request', status: 400 },
  ttl_out_of_range: { code: 'invalid_request', status: 400 },
  payload_too_large: { code: 'invalid_request', status: 413 },
  unsupported_media_type: { code: 'invalid_request', status: 415 },
  lease_cap_reached: { code: 'temporarily_unavailable', status: 429 },
  rate_limited: { code: 'temporarily_unavailable', status: 429 },
  issuance_frozen: { code: 'temporarily_unavailable', status: 503 },
  store_unavailable: { code: 'temporarily_unavailable', status: 503 },
  audit_unavailable: { code: 'temporarily_unavailable', status: 503 },
  not_ready: { code: 'temporarily_unavailable', status: 503 },
  provider_failed: { code: 'server_error', status: 502 },
  provider_misconfigured: { code: 'server_error', status: 502 },
  provider_unavailable: { code: 'temporarily_unavailable', status: 503 },
  approval_denied: { code: 'access_denied', status: 400 },
  approval_void: { code: 'access_denied', status: 400 },
  budget_exceeded: { code: 'temporarily_unavailable', status: 429 },
  approvals_full: { code: 'temporarily_unavailable', status: 429 },
  approval_self: undefined,
  approval_not_found: undefined,
  receipt_not_found: undefined,
  approval_not_pending: undefined,
  not_found: undefined,
  lease_not_found: undefined,
  lease_not_active: undefined,
  lease_not_retryable: undefined,
  not_renewable: undefined,
};

/** The OAuth answer to `err`, or `undefined` when it has none and `app.onError` should take it. */
export function asOAuthError(err: unknown): OAuthError | undefined {
  if (err instanceof OAuthError) return err;
  if (!(err instanceof BrokerError)) return undefined;
  const mapped = FROM_BROKER[err.code];
  if (mapped === undefined) return undefined;
  const description = err.reasons[0]?.message ?? err.message;
  return new OAuthError(mapped.code, description, mapped.status, err.retryAfter);
}

/** RFC 6749 §5.2 JSON body, with §5.1's no-store headers so no cache keeps the answer. */
export function oauthErrorResponse(err: OAuthError): Response {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    pragma: 'no-cache',
  };
  if (err.retryAfter !== undefined)
    headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfter)));
  return new Response(JSON.stringify({ error: err.code, error_description: err.message }), {
    status: err.status,
    headers,
  });
}
