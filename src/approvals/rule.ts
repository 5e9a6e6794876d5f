import type { Provider } from '../../providers/provider.js';
import type { ApprovalRuleConfig, Tier } from '../config/schema.js';
import { compileGlob } from '../policy/lib/glob.js';
import type { PolicyGrant } from '../policy/types.js';

/** What an approval rule is checked against: the request as the deciding policy granted it. */
export interface ApprovalSubject {
  tier: Tier;
  tool?: string | undefined;
  /** The granted scope, as the target's provider parsed it. */
  scope?: unknown;
  /** The target's provider: its ceiling schema reads `beyond`, its `within` compares. */
  provider?: Pick<Provider, 'ceiling' | 'within'> | undefined;
}

/**
 * Does a grant of a policy with this `approval` rule wait for an operator? `required` and a
 * rule with none of `tools`, `tiers` and `beyond`: always. Otherwise when any condition it
 * lists matches: the request's tool matches one of `tools`, the workload's tier is one of
 * `tiers`, or the scope is not within the ceiling `beyond`. Fail closed: a request that names
 * no tool under a rule that lists tools waits (leaving the tool out must not skip the human),
 * and so does one whose scope cannot be compared with `beyond` (no provider, a ceiling the
 * provider does not read — refused at load, so only a changed provider could get here).
 */
export function approvalNeeded(
  rule: ApprovalRuleConfig | undefined,
  request: ApprovalSubject,
): boolean {
  if (rule === undefined) return false;
  if (rule === 'required') return true;
  // Only an explicit `required: false` turns the rule off (the schema's default is true).
  if (rule.required === false) return false;
  if (rule.tools === undefined && rule.tiers === undefined && rule.beyond === undefined)
    return true;
  if (rule.tiers?.includes(request.tier)) return true;
  if (rule.beyond !== undefined && !withinCeiling(rule.beyond, request)) return true;
  if (rule.tools === undefined) return false;
  const { tool } = request;
  // The same glob dialect as the policy's own `tools` (`*` and `?`), so one pattern means one thing.
  return tool === undefined || rule.tools.some((glob) => compileGlob(glob)(tool));
}

function withinCeiling(beyond: unknown, { provider, scope }: ApprovalSubject): boolean {
  if (provider === undefined || scope === undefined) return false;
  const ceiling = provider.ceiling.safeParse(beyond);
  if (!ceiling.success) return false;
  return provider.within(scope, ceiling.data).ok;
}

/**
 * Does this grant wait for an operator? The one answer the live path (202), `policy simulate`
 * and `policy test` all give: the deciding policy's rule over the granted scope.
 */
export function grantNeedsApproval(
  rule: ApprovalRuleConfig | undefined,
  grant: Pick<PolicyGrant, 'scope' | 'provider'>,
  request: { tier: Tier; tool?: string | undefined },
): boolean {
  return approvalNeeded(rule, {
    tier: request.tier,
    tool: request.tool,
    scope: grant.scope,
    provider: grant.provider,
  });
}

/** What `policy simulate` shows of a rule that applies: its conditions, never its webhook. */
export function describeRule(rule: ApprovalRuleConfig): Record<string, unknown> {
  if (rule === 'required') return { required: true };
  return {
    ...(rule.tools === undefined ? {} : { tools: rule.tools }),
    ...(rule.tiers === undefined ? {} : { tiers: rule.tiers }),
    ...(rule.beyond === undefined ? {} : { beyond: rule.beyond }),
    ...(rule.expires_after === undefined ? {} : { expires_after: rule.expires_after / 1000 }),
  };
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
