import type { EventInput } from '../events/types.js';
import type { Lease } from './types.js';

export type LeaseEventFields = Pick<
  EventInput,
  | 'workload'
  | 'subject'
  | 'issuer'
  | 'target'
  | 'provider'
  | 'lease_id'
  | 'task'
  | 'policy'
  | 'policy_hash'
>;

/**
 * What an event about a lease's end names of the lease: the workload and its identity, the
 * target and provider, the task, and the policy (with its hash) that granted it.
 */
export function leaseEventFields(lease: Lease): LeaseEventFields {
  return {
    workload: lease.workload,
    subject: lease.subject,
    issuer: lease.issuer,
    target: lease.target,
    provider: lease.provider,
    lease_id: lease.id,
    task: lease.task,
    policy: lease.policy,
    policy_hash: lease.policyHash,
  };
}
