import { decideApproval } from '../approvals/decide.js';
import { getApproval, listApprovals } from '../approvals/read.js';
import type { Approval, ApprovalFilter } from '../approvals/types.js';
import type { Hold } from '../detections/holds.js';
import { holdOf, releaseHold } from '../detections/release.js';
import type { OperatorPrincipal, Principal, WorkloadPrincipal } from '../identity/types.js';
import { safeMessage } from '../leases/revoker.js';
import type { IssuanceFreeze, Lease, LeaseFilter, LeasePage } from '../leases/types.js';
import type { Caller } from '../lib/caller.js';
import type { RevocationReceipt } from '../revocation/receipt.js';
import { type Inventory, workloadInventory } from '../workloads/inventory.js';
import { type WorkloadReport, workloadReport } from '../workloads/report.js';
import type { BrokerDeps } from './deps.js';
import { endTask, type TaskRevocation } from './end-task.js';
import { setFrozen, unblockWorkload } from './incident.js';
import { introspect } from './introspect.js';
import { issue } from './issue.js';
import { getLease, listLeases, listWorkloads } from './read-models.js';
import { renewLease } from './renew.js';
import { revocationReceipt } from './revocation-receipt.js';
import { retryLease, revokeLease } from './revoke-lease.js';
import { type LeaseSelector, revokeBySelector } from './revoke-selector.js';
import { revokeToken } from './revoke-token.js';
import { revokeWorkload } from './revoke-workload.js';
import { type Simulation, type SimulationRequest, simulate } from './simulate.js';
import type {
  AwaitingApproval,
  CredentialRequest,
  IssuedCredential,
  LeaseRevocation,
  RevocationCounts,
  WorkloadListing,
  WorkloadRevocationResult,
} from './types.js';

export type { BrokerDeps, BrokerRuntime } from './deps.js';
export type { TaskRevocation } from './end-task.js';
export type { LeaseSelector } from './revoke-selector.js';
export type { Simulation, SimulationRequest } from './simulate.js';
export type {
  AwaitingApproval,
  CredentialRequest,
  IssuedCredential,
  LeaseRevocation,
  RevocationCounts,
  WorkloadListing,
  WorkloadRevocationResult,
} from './types.js';

/**
 * Issuance and revocation below HTTP, one use case per module; this class only holds the
 * dependencies the routes reach it with. Who may act is decided twice over, each part in one
 * place: the role by the route's access rule, ownership by `permits` inside the use case.
 * Operator-only calls keep the principal in their signature, but the operator's name reaches
 * events through the Caller.
 */
export class Broker {
  readonly #deps: BrokerDeps;

  constructor(deps: BrokerDeps) {
    this.#deps = deps;
  }

  issue(
    principal: WorkloadPrincipal,
    req: CredentialRequest,
    caller: Caller,
  ): Promise<IssuedCredential | AwaitingApproval> {
    return issue(this.#deps, principal, req, caller);
  }

  listApprovals(by: Principal, filter: ApprovalFilter, limit: number): Promise<Approval[]> {
    return listApprovals(this.#deps, by, filter, limit);
  }

  getApproval(id: string, by: Principal): Promise<Approval> {
    return getApproval(this.#deps, id, by);
  }

  decideApproval(
    id: string,
    decision: 'approved' | 'denied',
    reason: string,
    by: OperatorPrincipal,
    caller: Caller,
  ): Promise<Approval> {
    return decideApproval(this.#deps, id, decision, reason, by, caller);
  }

  getLease(id: string, by: Principal): Promise<Lease> {
    return getLease(this.#deps, id, by);
  }

  listLeases(
    by: Principal,
    filter: LeaseFilter,
    limit: number,
    cursor?: string,
  ): Promise<LeasePage> {
    return listLeases(this.#deps, by, filter, limit, cursor);
  }

  listWorkloads(): Promise<WorkloadListing[]> {
    return listWorkloads(this.#deps);
  }

  revokeLease(id: string, by: Principal, caller: Caller): Promise<LeaseRevocation> {
    return revokeLease(this.#deps, id, by, caller);
  }

  retryLease(id: string, by: OperatorPrincipal, caller: Caller): Promise<LeaseRevocation> {
    return retryLease(this.#deps, id, by, caller);
  }

  renewLease(
    id: string,
    by: WorkloadPrincipal,
    ttlSeconds: number | undefined,
    caller: Caller,
  ): Promise<{ lease: Lease; credential?: unknown }> {
    return renewLease(this.#deps, id, by, ttlSeconds, caller);
  }

  endTask(
    workload: string,
    taskId: string,
    by: Principal,
    caller: Caller,
  ): Promise<TaskRevocation> {
    return endTask(this.#deps, workload, taskId, by, caller);
  }

  revokeWorkload(
    workload: string,
    options: { reason: string; block: boolean },
    _by: OperatorPrincipal,
    caller: Caller,
  ): Promise<WorkloadRevocationResult> {
    return revokeWorkload(this.#deps, workload, options, caller);
  }

  revokeBySelector(
    selector: LeaseSelector,
    reason: string,
    _by: OperatorPrincipal,
    caller: Caller,
  ): Promise<RevocationCounts & { matched: number }> {
    return revokeBySelector(this.#deps, selector, reason, caller);
  }

  setFrozen(
    frozen: boolean,
    reason: string,
    _by: OperatorPrincipal,
    caller: Caller,
  ): Promise<void> {
    return setFrozen(this.#deps, frozen, reason, caller);
  }

  /** The freeze in force (who, since when, why), or `null` while issuance runs. */
  issuanceFreeze(): Promise<Partial<IssuanceFreeze> | null> {
    return this.#deps.store.isFrozen();
  }

  unblockWorkload(workload: string, _by: OperatorPrincipal, caller: Caller): Promise<boolean> {
    return unblockWorkload(this.#deps, workload, caller);
  }

  /** A `require_approval` detection's hold on the workload, while it holds (operators). */
  detectionHold(workload: string): Promise<Hold | null> {
    return holdOf({ holds: this.#deps.detectionHolds, events: this.#deps.events }, workload);
  }

  /** Lifts a detection's hold early; true when the workload was held. */
  releaseHold(workload: string, _by: OperatorPrincipal, caller: Caller): Promise<boolean> {
    return releaseHold(
      {
        holds: this.#deps.detectionHolds,
        events: this.#deps.events,
        onEmitError: (err) =>
          this.#deps.logger.error({ err: safeMessage(err) }, 'event not emitted'),
      },
      workload,
      caller,
    );
  }

  /** RFC 7009: ends the lease behind `token` when `client` owns it; true when it did. */
  revokeToken(token: string, client: WorkloadPrincipal, caller: Caller): Promise<boolean> {
    return revokeToken(this.#deps, token, client, caller);
  }

  introspect(token: string, caller: WorkloadPrincipal): Promise<Record<string, unknown>> {
    return introspect(this.#deps, token, caller);
  }

  simulate(req: SimulationRequest): Simulation {
    return simulate(this.#deps, req);
  }

  /** A workload's least-privilege report over `windowMs` (operators). */
  workloadReport(workload: string, windowMs: number): Promise<WorkloadReport> {
    return workloadReport(this.#deps, workload, windowMs);
  }

  /** The receipt of the workload's last kill switch (operators). */
  revocationReceipt(workload: string): Promise<RevocationReceipt> {
    return revocationReceipt(this.#deps, workload);
  }

  /** Every machine identity: owner, tier, review date, live leases, last use (operators). */
  workloadInventory(): Promise<Inventory> {
    return workloadInventory(this.#deps);
  }
}
