import type { Lease, RevokeRequest } from '../../leases/types.js';
import type { Caller } from '../../lib/caller.js';
import type { BrokerDeps } from '../deps.js';
import type { LeaseRevocation, RevocationCounts } from '../types.js';

/** Carries one lease's revoke request through: a claim is revoked at once, in place recorded. */
export async function settleRevokeRequest(
  deps: Pick<BrokerDeps, 'revoker'>,
  request: RevokeRequest | undefined,
  lease: Lease,
  caller: Caller,
): Promise<LeaseRevocation> {
  switch (request?.status) {
    case 'claimed': {
      const result = await deps.revoker.revokeOne(request.claim, caller);
      return { lease: result.lease, state: result.lease.state };
    }
    case 'revoked':
      deps.revoker.recordInPlace([request.lease], caller);
      return { lease: request.lease, state: request.lease.state };
    case 'deferred':
    case 'in_progress':
      return { lease: request.lease, state: 'revoking' };
    case 'done':
    case 'not_retryable':
      return { lease: request.lease, state: request.lease.state };
    default:
      return { lease, state: lease.state };
  }
}

/** Revokes what `requestRevoke` answered: claims at their providers, in-place ones recorded. */
export async function revokeRequested(
  deps: Pick<BrokerDeps, 'revoker'>,
  requests: readonly RevokeRequest[],
  caller: Caller,
  deadlineMs?: number,
): Promise<RevocationCounts> {
  const claims = requests.flatMap((r) => (r.status === 'claimed' ? [r.claim] : []));
  const inPlace = requests.flatMap((r) => (r.status === 'revoked' ? [r.lease] : []));
  deps.revoker.recordInPlace(inPlace, caller);
  const tally = await deps.revoker.execute(claims, caller, deadlineMs);
  const waiting = requests.filter(
    (r) => r.status === 'deferred' || r.status === 'in_progress',
  ).length;
  return {
    revoked: tally.revoked + inPlace.length,
    revoking: tally.pending + waiting,
    failed: tally.failed,
  };
}
