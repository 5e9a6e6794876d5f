import type { ApprovalRuleConfig, Tier } from '../config/schema.js';
import { compileGlob } from '../policy/lib/glob.js';

/**
 * Does a grant of a policy with this `approval` rule wait for an operator? `required` and a
 * rule with neither `tools` nor `tiers`: always. Otherwise when the request's tool matches
 * one of `tools` or the workload's tier is one of `tiers`. A request that names no tool under
 * a rule that lists tools waits too: leaving the tool out must not skip the human.
 */
export function approvalNeeded(
  rule: ApprovalRuleConfig | undefined,
  request: { tier: Tier; tool?: string | undefined },
): boolean {
  if (rule === undefined) return false;
  if (rule === 'required') return true;
  if (!rule.required) return false;
  if (rule.tools === undefined && rule.tiers === undefined) return true;
  if (rule.tiers?.includes(request.tier)) return true;
  if (rule.tools === undefined) return false;
  const { tool } = request;
  // The same glob dialect as the policy's own `tools` (`*` and `?`), so one pattern means one thing.
  return tool === undefined || rule.tools.some((glob) => compileGlob(glob)(tool));
}

/** The rule's own window, or the configured default. */
export function approvalWindowMs(rule: ApprovalRuleConfig | undefined, fallback: number): number {
  return typeof rule === 'object' && rule.expires_after !== undefined
    ? rule.expires_after
    : fallback;
}

export function ruleWebhook(rule: ApprovalRuleConfig | undefined): string | undefined {
  return typeof rule === 'object' ? rule.webhook : undefined;
}
