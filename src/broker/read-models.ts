import { BrokerError } from '../errors.js';
import { hasRole } from '../identity/roles.js';
import type { Principal } from '../identity/types.js';
import type { Lease, LeaseFilter, LeasePage } from '../leases/types.js';
import type { BrokerDeps } from './deps.js';
import type { WorkloadListing } from './types.js';

/** A workload sees only its own leases; viewers see all. Anything else is a 404. */
export async function getLease(deps: BrokerDeps, id: string, by: Principal): Promise<Lease> {
  const lease = await deps.store.get(id);
  if (!lease || !canSee(by, lease)) throw new BrokerError('lease_not_found', `no lease ${id}`);
  return lease;
}

function canSee(by: Principal, lease: Lease): boolean {
  return by.kind === 'workload' ? by.workload.id === lease.workload : hasRole(by, 'viewer');
}

export function listLeases(
  deps: BrokerDeps,
  filter: LeaseFilter,
  limit: number,
  cursor?: string,
): Promise<LeasePage> {
  return deps.store.list(filter, limit, cursor);
}

/** Configured workloads joined with what the store knows (live leases, block flag). */
export async function listWorkloads(deps: BrokerDeps): Promise<WorkloadListing[]> {
  const known = new Map((await deps.store.workloads()).map((w) => [w.workload, w]));
  const configured = deps.runtime().workloads;
  const out: WorkloadListing[] = [...configured.values()].map((w) => ({
    ...(known.get(w.id) ?? { workload: w.id, live: 0, blocked: false }),
    tier: w.tier,
    configured: true,
  }));
  for (const [id, summary] of known) {
    if (!configured.has(id)) out.push({ ...summary, configured: false });
  }
  return out.sort((a, b) => a.workload.localeCompare(b.workload));
}
