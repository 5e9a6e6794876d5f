import type { DetectionRuleConfig } from '../config.js';
import { andThen } from '../state.js';
import type { RuleCheck } from '../types.js';

type Rule = Extract<DetectionRuleConfig, { kind: 'rate_baseline' }>;

export const rateBaselineWatches = ['credential.issued'];

/**
 * Issuances in the current `window` (a fixed bucket) above `multiple` × the workload's
 * average per window over the trailing `baseline`, once the window holds `min_count`.
 */
export function rateBaseline(rule: Rule): RuleCheck {
  const span = Math.round(rule.baseline / rule.window);
  return (o) =>
    andThen(o.state.countInBucket(o.key, o.at, rule.window, span), ({ current, previous }) => {
      const average = previous / span;
      if (current < rule.min_count || current <= rule.multiple * average) return undefined;
      return {
        events: [{ id: o.event.id, seq: o.event.seq, instance: o.event.instance }],
        evidence: {
          count: current,
          window_ms: rule.window,
          baseline_ms: rule.baseline,
          baseline_average: Math.round(average * 1000) / 1000,
          multiple: rule.multiple,
          min_count: rule.min_count,
        },
      };
    });
}
