import type { DetectionRuleConfig } from '../config.js';
import type { RuleCheck } from '../types.js';
import { countInWindow, denialCodes, ESCALATION_CODES } from './counted.js';

type Rule = Extract<DetectionRuleConfig, { kind: 'scope_escalation' }>;

export const scopeEscalationWatches = ['credential.denied'];

/**
 * `count` denials within `window` whose reason says the request was beyond its ceiling
 * (`scope_exceeds_ceiling`) or its workload's tier (`tier_exceeded`), as the policy engine
 * records them in `reason` or in `detail.reasons[].code`.
 */
export function scopeEscalation(rule: Rule): RuleCheck {
  return (o) => {
    const codes = denialCodes(o.event).filter((c) => ESCALATION_CODES.has(c));
    if (codes.length === 0) return undefined;
    return countInWindow(o, rule.count, rule.window, { codes: [...new Set(codes)] });
  };
}
