import type { DetectionRuleConfig } from '../config.js';
import type { RuleCheck } from '../types.js';

type Rule = Extract<DetectionRuleConfig, { kind: 'revocation_unverified' }>;

export const revocationUnverifiedWatches = ['revocation.unverified'];

/**
 * A revocation of the workload's lease that its target did not confirm: the credential may
 * still work. Every such event fires (the cool-down makes a kill switch's many leases one
 * incident); the evidence is the lease, its target and what the check answered.
 */
export function revocationUnverified(_rule: Rule): RuleCheck {
  return (o) => {
    const { event } = o;
    const evidence = event.detail?.evidence;
    return {
      events: [{ id: event.id, seq: event.seq, instance: event.instance }],
      evidence: {
        ...(event.lease_id === undefined ? {} : { lease_id: event.lease_id }),
        ...(event.target === undefined ? {} : { target: event.target }),
        ...(event.provider === undefined ? {} : { provider: event.provider }),
        ...(event.reason === undefined ? {} : { revoke_reason: event.reason }),
        ...(typeof evidence === 'string' ? { check: evidence.slice(0, 300) } : {}),
      },
    };
  };
}
