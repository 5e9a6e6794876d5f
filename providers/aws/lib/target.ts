import type { AwsTargetConfig } from '../config.js';
import type { AwsClients } from './clients.js';

/** One configured target's clients and what it learnt from AWS. */
export interface AwsTarget {
  config: AwsTargetConfig;
  clients: AwsClients;
  roleName: string;
  /**
   * The role's id (`AROA…`), the first half of every session's `aws:userid`, learnt from the
   * first `AssumeRole` answer (AWS offers it nowhere the broker is allowed to read).
   */
  roleId?: string;
  /**
   * Leases whose `AssumeRole` certainly issued nothing (refused before the call, or answered
   * with an error on the only attempt): the clean-up revocation that follows a failed mint
   * has nothing to deny. Without this, every failed mint would put an entry in the Deny
   * policy, and a workload could fill it by asking for what STS refuses.
   */
  unminted: Set<string>;
}

const UNMINTED_MAX = 10_000;

export function recordUnminted(target: AwsTarget, leaseId: string): void {
  if (target.unminted.size >= UNMINTED_MAX) {
    const oldest = target.unminted.values().next().value;
    if (oldest !== undefined) target.unminted.delete(oldest);
  }
  target.unminted.add(leaseId);
}
