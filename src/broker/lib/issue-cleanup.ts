import type { Provider, RevocationHandle } from '../../../providers/provider.js';
import { safeMessage } from '../../leases/revoker.js';
import type { Lease } from '../../leases/types.js';
import type { Caller } from '../../lib/caller.js';
import type { BrokerDeps } from '../deps.js';

/** After a failed mint: mark the lease for revocation and let activation's path clean up. */
export async function abandonLease(
  deps: BrokerDeps,
  lease: Pick<Lease, 'id' | 'workload'>,
  caller: Caller,
): Promise<void> {
  try {
    await deps.store.requestRevoke([lease.id], 'activation_failed');
    const result = await deps.store.activate(lease, deps.sealer().seal(lease.id, {}));
    if (result.outcome === 'revoke') await deps.revoker.revokeOne(result.claim, caller);
  } catch (err) {
    // The reaper takes the pending lease at its timeout.
    deps.logger.warn(
      { lease_id: lease.id, err: safeMessage(err) },
      'could not clean up after a failed mint',
    );
  }
}

/** The store could not record the credential: revoke it straight from memory. */
export async function revokeUnrecorded(
  deps: Pick<BrokerDeps, 'logger'>,
  provider: Provider,
  handle: RevocationHandle,
  leaseId: string,
): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      await provider.revoke(handle, leaseId);
      return;
    } catch (err) {
      deps.logger.error(
        { lease_id: leaseId, attempt, err: safeMessage(err) },
        'revoking an unrecorded credential failed',
      );
    }
  }
}
