import { ProviderError } from '../providers/provider.js';

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
  | 'workload_review_overdue'
  | 'scope_exceeds_ceiling'
  | 'intent_not_allowed'
  | 'approval_denied'
  | 'approval_self'
  // 404
  | 'not_found'
  | 'lease_not_found'
  | 'target_unknown'
  | 'approval_not_found'
  | 'receipt_not_found'
  // 409
  | 'lease_not_active'
  | 'lease_not_retryable'
  | 'revoked_during_issuance'
  | 'approval_not_pending'
  | 'approval_void'
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
  | 'budget_exceeded'
  | 'approvals_full'
  // 502
  | 'provider_failed'
  | 'provider_misconfigured'
  // 503
  | 'provider_unavailable'
  | 'issuance_frozen'
  | 'store_unavailable'
  | 'audit_unavailable'
  | 'not_ready';

/**
 * What each code means to a caller, for `docs/errors.md` (written from this table and the
 * status table in `src/api/problem.ts`). A `Record`, so a new code does not compile until it
 * is documented.
 */
export const ERROR_DESCRIPTIONS: Readonly<Record<BrokerErrorCode, string>> = {
  unauthenticated:
    'No credentials were presented (no bearer token, or not the metrics token). Send one.',
  invalid_token:
    'The token was not accepted: malformed, expired, wrong issuer or audience, unknown workload, the wrong kind of token for the route, or over the 16 KiB limit. The reason is in the `auth.failed` event, not the response.',
  forbidden: "The operator's role is too low for this route (see the access table).",
  policy_denied:
    'No policy grants this request. `reasons` lists why each candidate policy refused.',
  workload_review_overdue:
    "The workload's `review_by` date has passed (at the end of that day, UTC): its owner must review it and move the date before it gets credentials again, renewals included.",
  workload_blocked:
    'An operator pulled the kill switch with `block`: the workload gets nothing until unblocked.',
  scope_exceeds_ceiling:
    "The scope asks for more than every matching policy's ceiling allows (or more than the workload's tier).",
  intent_not_allowed: "The task's intent is not among the policy's allowed intents.",
  approval_denied:
    'An approver denied this exact request (the detail names the approval). The same request is refused until the approval expires; a changed one asks anew.',
  approval_self:
    "An operator cannot approve or deny a request made under their own subject: the workload's subject or the request's actor (the human it acts for).",
  approval_not_found: 'No such approval, or one that is not yours (the two are not told apart).',
  approval_not_pending:
    'The approval was already decided, used or has expired: only a pending one can be approved or denied.',
  approval_void:
    'The policy that required the approval changed (or is gone) since it was requested: the request must be repeated and approved anew.',
  budget_exceeded:
    'A budget of the deciding policy is spent: `reasons[0].code` names it (`requests.per_workload`, `requests.per_task`, `requests.per_policy`, `live_leases.per_workload`, `live_leases.per_task`, `live_leases.per_policy`). Retry after `Retry-After`.',
  approvals_full:
    'Too many approvals wait for a decision (`approvals.max_pending`). Retry after `Retry-After`.',
  not_found: 'No such route.',
  lease_not_found: 'No such lease, or one that is not yours (the two are not told apart).',
  receipt_not_found:
    'The workload has no revocation receipt: no kill switch since `leases.retention` ago.',
  target_unknown: 'No target of that name is configured.',
  lease_not_active:
    'The lease is not active (still minting, revoking or finished): it cannot be renewed.',
  lease_not_retryable: 'Only a lease in `revoke_failed` can be retried.',
  revoked_during_issuance:
    'A revocation (kill switch, lease or task revoke) arrived while the credential was minted; it was revoked at once.',
  payload_too_large: 'The body is over `server.body_limit`.',
  unsupported_media_type:
    'The content type is not one the route takes (JSON, or a form for OAuth).',
  invalid_request:
    'The request does not match the schema; `errors` names each bad field (path and message).',
  invalid_json: 'The body is not valid JSON.',
  scope_invalid:
    "The scope does not have the target provider's shape, or the target cannot grant it as asked (over one of its size limits, or naming what it does not define): the detail says which.",
  ttl_out_of_range:
    "The requested `ttl` (seconds) is outside the policy's bounds, or a renewal cannot go further: the lease reaches its `max_ttl`.",
  not_renewable: "The target's provider cannot renew its credentials: ask for a new one.",
  lease_cap_reached:
    'The workload holds its maximum of live leases (`max_active_leases`). Retry after `Retry-After`, or revoke leases it no longer needs.',
  rate_limited:
    'Too many failed break-glass attempts from this address. Retry after `Retry-After`.',
  provider_failed:
    'The target system refused or failed to mint (or renew) the credential; nothing was handed out and the lease was cleaned up.',
  provider_misconfigured:
    "The target refused the broker's own access (its credentials, role, grants or trust), or the target's configuration cannot serve this request: nothing a caller can change. An operator must fix the configuration; the broker log names the step and the target's error code.",
  provider_unavailable:
    'The target system is throttling the broker or cannot be reached for now; nothing was handed out and the lease was cleaned up. Retry after `Retry-After`.',
  issuance_frozen:
    'An operator froze all issuance (the detail says since when). Revocation keeps working. Retry after `Retry-After`.',
  store_unavailable: 'The lease store (Redis) cannot be reached: the broker fails closed.',
  audit_unavailable:
    'A required audit sink cannot take the event: issuance fails closed rather than go unrecorded.',
  not_ready:
    'Readiness only: the broker cannot serve now (its lease store is down); `/readyz` answers 503 with its own JSON body.',
};

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

/** Seconds a caller is told to wait after a target said it is throttling or unreachable. */
export const PROVIDER_RETRY_AFTER_SECONDS = 5;

/**
 * The domain error for a provider's failed mint or renewal. A scope the target will not grant
 * is the caller's to change (4xx, with the provider's scrubbed message); the broker's own
 * access being refused is an operator's to fix, and the caller learns only that, not the
 * target's internals; a retryable outage says when to come back.
 */
export function mintFailure(
  target: string,
  err: unknown,
  step: 'mint' | 'renew' = 'mint',
): BrokerError {
  const code = err instanceof ProviderError ? err.code : undefined;
  if (code === 'invalid_scope' && err instanceof ProviderError) {
    return new BrokerError(
      'scope_invalid',
      `target ${target} cannot grant this scope: ${err.message}`,
      {
        cause: err,
      },
    );
  }
  if (code === 'provider_misconfigured') {
    return new BrokerError(
      'provider_misconfigured',
      `the broker's own access to target ${target} was refused, or the target's configuration cannot serve this request: an operator must check the target's configuration and the broker's credentials and permissions for it (the broker log names the failing step)`,
      { cause: err },
    );
  }
  if (code === 'provider_unavailable' && err instanceof ProviderError && err.retryable) {
    return new BrokerError(
      'provider_unavailable',
      `target ${target} is throttling the broker or cannot be reached; retry later`,
      { retryAfter: PROVIDER_RETRY_AFTER_SECONDS, cause: err },
    );
  }
  const what = step === 'mint' ? 'mint a credential' : 'renew the credential';
  return new BrokerError('provider_failed', `target ${target} could not ${what}`, {
    cause: err,
  });
}

export function isBrokerError(err: unknown): err is BrokerError {
  return err instanceof BrokerError;
}
