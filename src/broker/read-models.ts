import { permitsOnLease } from '../access/permits.js';
import type { Principal } from '../identity/types.js';
import type { Lease, LeaseFilter, LeasePage } from '../leases/types.js';
import type { BrokerDeps } from './deps.js';
import { permittedLease } from './lib/permitted-lease.js';
import type { WorkloadListing } from './types.js';

/** One lease's metadata (never the credential), for whoever may read it. */
export function getLease(deps: BrokerDeps, id: string, by: Principal): Promise<Lease> {
  return permittedLease(deps.store, id, by, 'lease.read');
}

/**
 * A page of leases. The workload filter (a workload sees only its own) is set by the
 * caller; beyond it, each lease is shown only when `by` may read it, so an identity of a
 * workload whose leases are owned per identity sees only its own. A page may then hold fewer
 * than `limit` leases; the cursor still moves on.
 */
export async function listLeases(
  deps: BrokerDeps,
  by: Principal,
  filter: LeaseFilter,
  limit: number,
  cursor?: string,
): Promise<LeasePage> {
  const page = await deps.store.list(filter, limit, cursor);
  const visible = page.leases.filter((lease) => permitsOnLease(by, 'lease.list', lease));
  return visible.length === page.leases.length ? page : { ...page, leases: visible };
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
