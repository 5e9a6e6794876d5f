import { type DetectionRuleConfig, MAX_HISTORY } from '../config.js';
import { andThen } from '../state.js';
import type { RuleCheck } from '../types.js';
import { requestValues } from './values.js';

type Rule = Extract<DetectionRuleConfig, { kind: 'first_seen' }>;

export const firstSeenWatches = ['credential.issued', 'credential.denied'];

const DAY_MS = 86_400_000;

/**
 * A target, tool or scope item the workload has not requested within `days`, from a
 * history of at most 512 items per workload (the least recently seen are forgotten first).
 * A workload with no history yet learns its first request without firing.
 */
export function firstSeen(rule: Rule): RuleCheck {
  return (o) => {
    const values = requestValues(o.event, rule.of);
    if (values.length === 0) return undefined;
    const remembered = o.state.remember(o.key, values, o.at, rule.days * DAY_MS, MAX_HISTORY);
    return andThen(remembered, ({ fresh, known }) => {
      if (fresh.length === 0 || known === 0) return undefined;
      return {
        events: [{ id: o.event.id, seq: o.event.seq, instance: o.event.instance }],
        evidence: { of: rule.of, first_seen: fresh, days: rule.days, history: known },
      };
    });
  };
}
