import type { Provider } from '../../providers/provider.js';
import type { ApprovalStore } from '../approvals/types.js';
import type { BudgetStore } from '../budgets/types.js';
import type { ApprovalsConfig, PolicyConfig, WorkloadConfig } from '../config/schema.js';
import type { DetectionHolds } from '../detections/holds.js';
import type { EventEmitter } from '../events/types.js';
import type { Revoker } from '../leases/revoker.js';
import type { HandleSealer } from '../leases/sealing.js';
import type { LeaseStore } from '../leases/types.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from '../metrics.js';
import type { PolicyEngine } from '../policy/engine.js';
import type { ReceiptStore } from '../revocation/receipt.js';
import type { EventHistory } from '../workloads/event-history.js';
import type { ReviewNotices } from '../workloads/review-notices.js';

/** Everything the broker runs on; replaced as a whole when the configuration is reloaded. */
export interface BrokerRuntime {
  workloads: ReadonlyMap<string, WorkloadConfig>;
  providers: ReadonlyMap<string, Provider>;
  policy: PolicyEngine;
  /** The policies by name: what approval rule and budgets the deciding one sets. */
  policies: ReadonlyMap<string, PolicyConfig>;
  approvals: ApprovalsConfig;
  /** Lead time of the `workload.review_due` warning (`review_warning`); default 14 days. */
  reviewWarningMs?: number;
}

/** What every use case is given: built once by the composition root. */
export interface BrokerDeps {
  store: LeaseStore;
  /** The current keyring (a reload can rotate it). */
  sealer: () => HandleSealer;
  events: EventEmitter;
  revoker: Revoker;
  metrics: Metrics;
  logger: Logger;
  runtime: () => BrokerRuntime;
  /** Approvals and budgets: Redis (shared by replicas) or memory, as the lease store. */
  approvals: ApprovalStore;
  budgets: BudgetStore;
  /** Deadline of one kill-switch call; the reaper finishes what is left. */
  killSwitchDeadlineMs: number;
  /** Holds placed by `require_approval` detections: a held workload's grants wait for an approver. */
  detectionHolds?: DetectionHolds;
  /** Once-a-day markers of review warnings (Redis when the store is); memory otherwise. */
  reviewNotices?: ReviewNotices;
  /** The event stream, read back by workload reports (absent: no Redis stream sink). */
  eventHistory?: EventHistory;
  /** `leases.retention`: how far back finished leases are still known. */
  leaseRetentionMs?: number;
  /** Revocation receipts (the last kill switch of each workload) and how long they are kept. */
  receipts?: { store: ReceiptStore; ttlMs: number };
}
