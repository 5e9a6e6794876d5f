import { permitsOnLease } from '../../access/permits.js';
import type { Action } from '../../access/table.js';
import { BrokerError } from '../../errors.js';
import type { Principal } from '../../identity/types.js';
import type { Lease, LeaseStore } from '../../leases/types.js';

/**
 * The lease, when `by` may take `action` on it. Refused is the same 404 as absent, so nobody
 * learns that another workload's lease exists.
 */
export async function permittedLease(
  store: LeaseStore,
  id: string,
  by: Principal,
  action: Action,
): Promise<Lease> {
  const lease = await store.get(id);
  if (!lease || !permitsOnLease(by, action, lease)) {
    throw new BrokerError('lease_not_found', `no lease ${id}`);
  }
  return lease;
}
