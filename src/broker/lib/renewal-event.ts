import type { EventInput } from '../../events/types.js';
import type { WorkloadPrincipal } from '../../identity/types.js';
import type { Lease } from '../../leases/types.js';
import type { Caller } from '../../lib/caller.js';
import { sourceIpField } from './events.js';

/**
 * What an event about a renewal names (its refusal, the review warning it raises): the
 * renewing identity, its token and request, and the lease it renews.
 */
export function renewalEventFields(
  lease: Lease,
  by: WorkloadPrincipal,
  caller: Caller,
): Omit<EventInput, 'type' | 'outcome'> {
  return {
    request_id: caller.requestId,
    workload: lease.workload,
    subject: by.identity.subject,
    issuer: by.identity.issuer,
    target: lease.target,
    lease_id: lease.id,
    task: lease.task,
    token_sha256: by.identity.tokenHash,
    ...sourceIpField(caller),
  };
}
