import { BrokerError } from '../errors.js';
import type { OperatorPrincipal, Principal } from '../identity/types.js';
import type { RevokeReason } from '../leases/types.js';
import type { Caller } from '../lib/caller.js';
import type { BrokerDeps } from './deps.js';
import { permittedLease } from './lib/permitted-lease.js';
import { settleRevokeRequest } from './lib/revocation.js';
import type { LeaseRevocation } from './types.js';

/** Revokes one lease: its owner ends it early, or an operator pulls it. */
export async function revokeLease(
  deps: BrokerDeps,
  id: string,
  by: Principal,
  caller: Caller,
): Promise<LeaseRevocation> {
  const lease = await permittedLease(deps.store, id, by, 'lease.revoke');
  const reason: RevokeReason = by.kind === 'workload' ? 'owner' : 'operator';
  const [request] = await deps.store.requestRevoke([lease.id], reason);
  return settleRevokeRequest(deps, request, lease, caller);
}

/** Retries a `revoke_failed` lease now, instead of at its next slow retry. */
export async function retryLease(
  deps: BrokerDeps,
  id: string,
  by: OperatorPrincipal,
  caller: Caller,
): Promise<LeaseRevocation> {
  const lease = await permittedLease(deps.store, id, by, 'lease.retry');
  const request = await deps.store.retry(id);
  if (request.status === 'not_retryable') {
    throw new BrokerError(
      'lease_not_retryable',
      `lease ${id} is ${request.lease.state}, not revoke_failed`,
    );
  }
  return settleRevokeRequest(deps, request, lease, caller);
}
