export const EVENT_TYPES = [
  'credential.issued',
  'credential.denied',
  'auth.failed',
  'lease.revoked',
  'lease.expired',
  'lease.renewed',
  'lease.revoke_failed',
  'task.ended',
  'workload.revoking',
  'workload.revoked',
  'workload.blocked',
  'workload.unblocked',
  'workload.review_due',
  'operator.break_glass_used',
  'policy.reloaded',
  'policy.reload_rejected',
  'policy.dry_run',
  'detection.fired',
  'detection.hold_released',
  'approval.requested',
  'approval.granted',
  'approval.denied',
  'approval.expired',
  'approval.used',
  'issuance.frozen',
  'issuance.unfrozen',
  'chain.genesis',
  'chain.checkpoint',
  'revocation.verified',
  'revocation.unverified',
  'revocation.unverifiable',
  'ssf.delivery_failed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';
export type Outcome = 'success' | 'failure' | 'denied';

/**
 * What the broker says happened. Never a secret: no credential, no token, no password, no
 * revocation handle. Identity tokens appear only as `token_sha256`.
 */
export interface EventInput {
  type: EventType;
  severity?: Severity;
  outcome: Outcome;
  request_id?: string;
  workload?: string;
  subject?: string;
  issuer?: string;
  target?: string;
  provider?: string;
  lease_id?: string;
  task?: { id: string; intent: string; tool?: string };
  scope?: unknown;
  reason?: string;
  /** Operator who acted (`alice@example.com`, `break-glass:oncall`). */
  actor?: string;
  source_ip?: string;
  policy?: string;
  policy_hash?: string;
  token_sha256?: string;
  expires_at?: string;
  counts?: Record<string, number>;
  detail?: Record<string, unknown>;
}

/** An event as emitted: stamped, numbered and hash-linked into its replica's chain. */
export interface BrokerEvent extends EventInput {
  id: string;
  time: string;
  severity: Severity;
  instance: string;
  seq: number;
  /**
   * SHA-256 (hex) of the previous event's canonical form without its `sig`; 64 zeros for
   * genesis.
   */
  prev: string;
  /**
   * Ed25519 signature (base64url) over the canonical form of the event without `sig`. Only
   * `chain.genesis` and `chain.checkpoint` carry one: a checkpoint's signature covers its
   * `prev`, so every earlier event through the hash links.
   */
  sig?: string;
}

export interface EmitOptions {
  /**
   * Issuance passes `true`: the call rejects with `audit_unavailable` when a `required`
   * sink cannot take the event. Revocation never waits on sinks and passes `false`.
   */
  failClosed: boolean;
}

/** The broker's view of the event pipeline. */
export interface EventEmitter {
  emit(event: EventInput, options?: EmitOptions): Promise<void>;
}
