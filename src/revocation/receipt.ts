/**
 * The revocation receipt of a workload: what its last kill switch did and what the targets
 * answered when asked whether each credential is gone, with the chain positions of the events
 * that say so. One per workload (a new kill switch starts a new one), kept as long as finished
 * leases are.
 */

export const VERIFICATION_STATUSES = ['verified', 'unverified', 'unverifiable'] as const;
export type VerificationStatus = (typeof VERIFICATION_STATUSES)[number];

/** Where an event sits: the replica's chain and its number in it. */
export interface ChainPosition {
  instance: string;
  seq: number;
}

/** A receipt keeps the positions of this many verification events; the rest are counted. */
export const RECEIPT_EVENT_LIMIT = 200;

export interface ReceiptStart {
  workload: string;
  /** The operator (or rule) that pulled the kill switch. */
  by?: string;
  reason: string;
  blocked: boolean;
}

export interface KillSwitchAnswer {
  /** The id `begin` gave the kill switch's receipt: an answer lands only in its own receipt. */
  receipt: string;
  counts: { revoked: number; failed: number; pending: number };
  /** The `workload.revoked` event. */
  position: ChainPosition;
}

export interface VerificationMark {
  workload: string;
  target: string;
  provider: string;
  leaseId: string;
  status: VerificationStatus;
  /** The `revocation.*` event. */
  position: ChainPosition;
  /**
   * When the lease was revoked (the store's clock). A lease revoked before the receipt began
   * belongs to an earlier kill switch and is not counted. Absent: counted.
   */
  revokedAt?: number;
}

export interface TargetVerification {
  target: string;
  provider: string;
  verified: number;
  unverified: number;
  unverifiable: number;
}

export interface VerificationEventRef extends ChainPosition {
  lease_id: string;
  target: string;
  status: VerificationStatus;
}

export interface RevocationReceipt {
  workload: string;
  /** ISO 8601: when the kill switch started. */
  at: string;
  by?: string;
  reason: string;
  blocked: boolean;
  /** What the kill switch answered (absent while it has not answered yet). */
  counts?: KillSwitchAnswer['counts'];
  verification: {
    verified: number;
    unverified: number;
    unverifiable: number;
    targets: TargetVerification[];
  };
  events: {
    workload_revoked?: ChainPosition;
    verifications: VerificationEventRef[];
    /** Verification events past `RECEIPT_EVENT_LIMIT`, counted but not listed. */
    verifications_omitted: number;
  };
}

export interface ReceiptStore {
  /**
   * Starts a new receipt for the workload, replacing the last one; kept `ttlMs`. Its time is
   * the store's clock, the one lease revocation times are taken from.
   */
  begin(start: ReceiptStart, ttlMs: number): Promise<string>;
  /**
   * Records the kill switch's answer. No receipt (expired, never begun), or a later kill
   * switch's receipt (another id): nothing.
   */
  answered(workload: string, answer: KillSwitchAnswer): Promise<void>;
  /** Counts one verification. No receipt: nothing. */
  mark(mark: VerificationMark): Promise<void>;
  get(workload: string): Promise<RevocationReceipt | null>;
}

/** The receipt's verification totals and target rows, from per-target counts. */
export function verificationSummary(
  targets: Map<string, TargetVerification>,
): RevocationReceipt['verification'] {
  const rows = [...targets.values()].sort((a, b) => a.target.localeCompare(b.target));
  const sum = (status: VerificationStatus) => rows.reduce((n, row) => n + row[status], 0);
  return {
    verified: sum('verified'),
    unverified: sum('unverified'),
    unverifiable: sum('unverifiable'),
    targets: rows,
  };
}
