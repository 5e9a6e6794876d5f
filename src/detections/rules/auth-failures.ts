import type { DetectionRuleConfig } from '../config.js';
import type { RuleCheck } from '../types.js';
import { countInWindow } from './counted.js';

type Rule = Extract<DetectionRuleConfig, { kind: 'auth_failures' }>;

export const authFailuresWatches = ['auth.failed'];

/**
 * `count` refused tokens within `window` whose subject maps to the workload (the engine maps
 * issuer and subject as identity mapping does; summaries without a subject count nowhere).
 */
export function authFailures(rule: Rule): RuleCheck {
  return (o) => countInWindow(o, rule.count, rule.window, { reason: o.event.reason ?? null });
}
