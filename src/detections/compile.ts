import type { WorkloadConfig } from '../config/schema.js';
import { compileGlob } from '../policy/lib/glob.js';
import type { DetectionKind, DetectionRuleConfig } from './config.js';
import { authFailures, authFailuresWatches } from './rules/auth-failures.js';
import { denialBurst, denialBurstWatches } from './rules/denial-burst.js';
import { firstSeen, firstSeenWatches } from './rules/first-seen.js';
import { newNetwork, newNetworkWatches } from './rules/new-network.js';
import { rateBaseline, rateBaselineWatches } from './rules/rate-baseline.js';
import {
  revocationUnverified,
  revocationUnverifiedWatches,
} from './rules/revocation-unverified.js';
import { scopeEscalation, scopeEscalationWatches } from './rules/scope-escalation.js';
import { timeWindow, timeWindowWatches } from './rules/time-window.js';
import type { CompiledRule, RuleCheck } from './types.js';

/** Each kind: the event types it reads and its check, built from the rule's settings. */
const KINDS: {
  [K in DetectionKind]: {
    watches: readonly string[];
    build(rule: Extract<DetectionRuleConfig, { kind: K }>): RuleCheck;
  };
} = {
  denial_burst: { watches: denialBurstWatches, build: denialBurst },
  scope_escalation: { watches: scopeEscalationWatches, build: scopeEscalation },
  auth_failures: { watches: authFailuresWatches, build: authFailures },
  first_seen: { watches: firstSeenWatches, build: firstSeen },
  new_network: { watches: newNetworkWatches, build: newNetwork },
  rate_baseline: { watches: rateBaselineWatches, build: rateBaseline },
  time_window: { watches: timeWindowWatches, build: timeWindow },
  revocation_unverified: { watches: revocationUnverifiedWatches, build: revocationUnverified },
};

export function compileRule(rule: DetectionRuleConfig): CompiledRule {
  const kind = KINDS[rule.kind] as {
    watches: readonly string[];
    build(rule: DetectionRuleConfig): RuleCheck;
  };
  return {
    config: rule,
    watches: new Set(kind.watches),
    covers: workloadMatcher(rule.workloads),
    check: kind.build(rule),
  };
}

/**
 * The policies' way of naming workloads: an exact id, a glob (`agents-*`) or `tier:<tier>`;
 * none means every workload.
 */
export function workloadMatcher(
  patterns: readonly string[] | undefined,
): (workload: WorkloadConfig) => boolean {
  if (patterns === undefined) return () => true;
  const tiers = new Set(
    patterns.filter((p) => p.startsWith('tier:')).map((p) => p.slice('tier:'.length)),
  );
  const ids = patterns.filter((p) => !p.startsWith('tier:')).map((p) => compileGlob(p));
  return (workload) => tiers.has(workload.tier) || ids.some((matches) => matches(workload.id));
}
