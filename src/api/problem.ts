import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { BrokerErrorCode, DenyReason } from '../errors.js';

/** Every domain error code has exactly one HTTP status. */
export const STATUS: Record<BrokerErrorCode, ContentfulStatusCode> = {
  unauthenticated: 401,
  invalid_token: 401,
  forbidden: 403,
  policy_denied: 403,
  workload_blocked: 403,
  workload_review_overdue: 403,
  issuance_frozen: 503,
  not_found: 404,
  lease_not_found: 404,
  target_unknown: 404,
  lease_not_active: 409,
  lease_not_retryable: 409,
  revoked_during_issuance: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  invalid_request: 422,
  invalid_json: 422,
  scope_invalid: 422,
  scope_exceeds_ceiling: 403,
  ttl_out_of_range: 422,
  intent_not_allowed: 403,
  approval_denied: 403,
  approval_self: 403,
  approval_not_found: 404,
  receipt_not_found: 404,
  approval_not_pending: 409,
  approval_void: 409,
  budget_exceeded: 429,
  approvals_full: 429,
  not_renewable: 422,
  lease_cap_reached: 429,
  rate_limited: 429,
  provider_failed: 502,
  provider_misconfigured: 502,
  provider_unavailable: 503,
  store_unavailable: 503,
  audit_unavailable: 503,
  not_ready: 503,
};

const TITLES: Partial<Record<BrokerErrorCode, string>> = {
  unauthenticated: 'Authentication required',
  invalid_token: 'Invalid token',
  forbidden: 'Forbidden',
  policy_denied: 'Denied by policy',
  workload_blocked: 'Workload blocked',
  workload_review_overdue: 'Workload review overdue',
  lease_not_found: 'Lease not found',
  receipt_not_found: 'Revocation receipt not found',
  target_unknown: 'Unknown target',
  invalid_request: 'Invalid request',
  invalid_json: 'Malformed JSON',
  payload_too_large: 'Payload too large',
  store_unavailable: 'Lease store unavailable',
  audit_unavailable: 'Audit trail unavailable',
  provider_failed: 'Provider failed',
  provider_misconfigured: 'Target misconfigured',
  provider_unavailable: 'Target unavailable',
};

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: BrokerErrorCode;
  detail: string;
  request_id: string;
  reasons?: readonly DenyReason[];
  errors?: readonly { path: string; message: string }[];
}

/** RFC 9457 problem details with our stable `code` and the request id. */
export function problem(
  c: Context,
  code: BrokerErrorCode,
  detail: string,
  extra: {
    reasons?: readonly DenyReason[];
    errors?: readonly { path: string; message: string }[];
    retryAfter?: number;
  } = {},
): Response {
  const status = STATUS[code];
  const body: ProblemBody = {
    // RFC 9457 §4.2.1: no type URI of ours resolves to anything, so none is invented; `code`
    // is the stable discriminator, and docs/errors.md says what each one means.
    type: 'about:blank',
    title: TITLES[code] ?? code.replaceAll('_', ' '),
    status,
    code,
    detail,
    request_id: c.get('requestId') ?? 'unknown',
    ...(extra.reasons && extra.reasons.length > 0 ? { reasons: extra.reasons } : {}),
    ...(extra.errors ? { errors: extra.errors } : {}),
  };
  const headers: Record<string, string> = {
    'content-type': 'application/problem+json',
    'cache-control': 'no-store',
    'x-request-id': body.request_id,
  };
  if (status === 401) {
    headers['www-authenticate'] =
      code === 'invalid_token' ? 'Bearer error="invalid_token"' : 'Bearer';
  }
  if (extra.retryAfter !== undefined)
    headers['retry-after'] = String(Math.max(1, Math.ceil(extra.retryAfter)));
  return new Response(JSON.stringify(body), { status, headers });
}
