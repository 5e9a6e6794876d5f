import type { DetectionRuleConfig } from '../config.js';
import type { RuleCheck } from '../types.js';
import { countInWindow } from './counted.js';

type Rule = Extract<DetectionRuleConfig, { kind: 'denial_burst' }>;

export const denialBurstWatches = ['credential.denied'];

/** `count` denials of the workload within `window`, whatever the reason. */
export function denialBurst(rule: Rule): RuleCheck {
  return (o) => countInWindow(o, rule.count, rule.window);
}
