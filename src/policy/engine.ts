import type { Provider } from '../../providers/provider.js';
import type { PolicyConfig, PolicyMode } from '../config/schema.js';
import type { BrokerErrorCode, DenyReason } from '../errors.js';
import { checkActor } from './actor-binding.js';
import type { ActorUseLedger } from './actor-ledger.js';
import { type CompiledPolicy, compilePolicy, formatPath, type PolicyIssue } from './compile.js';
import type { ConditionVariables } from './condition.js';
import { PolicyConfigError } from './errors.js';
import { contentHash } from './hash.js';
import { PolicyIndex } from './policy-index.js';
import type { ActorUse, Decision, DryRunOutcome, PolicyDenial, PolicyRequest } from './types.js';

export { PolicyConfigError } from './errors.js';
export type {
  Decision,
  DryRunOutcome,
  PolicyDenial,
  PolicyGrant,
  PolicyRequest,
} from './types.js';

/** Reason codes that, when every candidate policy failed with the same one, become the code. */
const SPECIFIC_DENIALS: ReadonlySet<string> = new Set<BrokerErrorCode>([
  'intent_not_allowed',
  'scope_exceeds_ceiling',
  'ttl_out_of_range',
]);

const MIN_TTL_MS = 1_000;

export interface PolicyEngineOptions {
  /** Configured identity issuers, name → `iss`: what `require_actor.issuers` may name. */
  actorIssuers?: ReadonlyMap<string, string>;
  /** The mode of every policy that names none (`policy_mode`). */
  mode?: PolicyMode;
  /** Where one-time actor tokens are recorded (shared by replicas when it is Redis). */
  actorUses?: ActorUseLedger;
}

type Scoped = { ok: true; scope: unknown } | { ok: false; denial: PolicyDenial };

/**
 * Decides credential requests against a policy set, deny by default. Deny rules that match
 * a request refuse it whatever any allow grants; otherwise the first allow policy (in file
 * order) whose intents, tools, actor requirement, scope ceiling, tier, TTL bounds and `when`
 * condition all hold grants. Because allows only grant and denies always win, the outcome
 * does not depend on the order of policies, only which allow is named does. Policies in
 * `dry_run` decide separately: the decision carries what the set would have done with them
 * enforced. Everything is checked and compiled here, once, so a bad set is refused at load
 * (every problem named) instead of surfacing in a decision.
 */
export class PolicyEngine {
  /** Content hash of the policy set (every field of every policy, and the set's mode). */
  readonly hash: string;
  readonly #policies: readonly CompiledPolicy[];
  readonly #index: PolicyIndex;
  readonly #byName: ReadonlyMap<string, CompiledPolicy>;
  readonly #providers: ReadonlyMap<string, Provider>;
  readonly #hasDryRun: boolean;
  /** Issuance records one-time actor tokens here (`claimActorUse`); none: they are refused. */
  readonly actorUses: ActorUseLedger | undefined;

  constructor(
    policies: readonly PolicyConfig[],
    providers: ReadonlyMap<string, Provider>,
    options: PolicyEngineOptions = {},
  ) {
    this.#providers = providers;
    this.actorUses = options.actorUses;
    const mode = options.mode ?? 'enforce';
    this.hash = contentHash(mode === 'enforce' ? policies : { mode, policies });
    const issues: PolicyIssue[] = [];
    const names = new Set<string>();
    const compiled: CompiledPolicy[] = [];
    policies.forEach((policy, index) => {
      if (names.has(policy.name)) {
        issues.push({
          path: `policies[${index}].name`,
          problem: `duplicate policy name "${policy.name}"`,
        });
      }
      names.add(policy.name);
      const ctx = {
        providers,
        actorIssuers: options.actorIssuers ?? new Map<string, string>(),
        defaultMode: mode,
      };
      const result = compilePolicy(policy, index, ctx, issues);
      if (result !== undefined) compiled.push(result);
    });
    const error = PolicyConfigError.of(issues);
    if (error !== undefined) throw error;
    this.#policies = compiled;
    this.#index = new PolicyIndex(compiled);
    this.#byName = new Map(compiled.map((p) => [p.name, p]));
    this.#hasDryRun = compiled.some((p) => p.mode === 'dry_run');
  }

  /** The names of the policies in force and in dry run, in file order. */
  get policyNames(): readonly string[] {
    return this.#policies.map((p) => p.name);
  }

  /** A policy as configured, by name (what decided a grant, for rules applied after it). */
  policyConfig(name: string): PolicyConfig | undefined {
    return this.#byName.get(name)?.config;
  }

  /** The policies that name a workload, allow and deny, in file order (its reports). */
  policiesFor(workload: { id: string; tier: string }): readonly CompiledPolicy[] {
    return this.#index.forWorkload(workload);
  }

  decide(req: PolicyRequest): Decision {
    const provider = this.#providers.get(req.target);
    if (provider === undefined) {
      return this.#deny('target_unknown', [
        { code: 'target_unknown', message: 'no target of that name is configured' },
      ]);
    }
    const scoped = this.#parseScope(provider, req);
    if (!scoped.ok) return scoped.denial;
    const candidates = this.#index.candidates(req.target, req.workload);
    if (!this.#hasDryRun || !candidates.some((p) => p.mode === 'dry_run')) {
      return this.#decideOver(candidates, provider, req, scoped.scope);
    }
    const enforced = this.#decideOver(
      candidates.filter((p) => p.mode === 'enforce'),
      provider,
      req,
      scoped.scope,
    );
    const all = this.#decideOver(candidates, provider, req, scoped.scope);
    const dryRun: DryRunOutcome = {
      allow: all.allow,
      ...(all.allow
        ? { policy: all.policy }
        : { code: all.code, ...(all.deniedBy === undefined ? {} : { policy: all.deniedBy }) }),
      reasons: all.allow ? [] : all.reasons,
      differs:
        all.allow !== enforced.allow ||
        (all.allow && enforced.allow && all.policy !== enforced.policy) ||
        (!all.allow && !enforced.allow && all.deniedBy !== enforced.deniedBy),
      policies: candidates.filter((p) => p.mode === 'dry_run').map((p) => p.name),
    };
    return { ...enforced, dryRun };
  }

  #parseScope(provider: Provider, req: PolicyRequest): Scoped {
    const scope = provider.scope.safeParse(req.scope);
    if (scope.success) return { ok: true, scope: scope.data };
    // Paths and issue codes only: the rejected values are the caller's and may be anything.
    return {
      ok: false,
      denial: this.#deny(
        'scope_invalid',
        scope.error.issues.map((issue) => ({
          code: 'scope_invalid',
          message: `${formatPath(issue.path)}: ${issue.code}`,
        })),
      ),
    };
  }

  #decideOver(
    candidates: readonly CompiledPolicy[],
    provider: Provider,
    req: PolicyRequest,
    scope: unknown,
  ): Decision {
    let variables: ConditionVariables | undefined;
    const vars = () => {
      variables ??= conditionVariables(req, scope);
      return variables;
    };
    for (const rule of candidates) {
      if (rule.effect !== 'deny') continue;
      const applies = denyApplies(rule, req, vars);
      if (applies !== undefined) {
        return {
          ...this.#deny('policy_denied', [
            { code: 'denied_by_rule', message: applies, policy: rule.name },
          ]),
          deniedBy: rule.name,
        };
      }
    }

    const reasons: DenyReason[] = [];
    for (const policy of candidates) {
      if (policy.effect !== 'allow') continue;
      const outcome = evaluateAllow(policy, provider, req, scope, vars);
      if ('code' in outcome) {
        reasons.push({ code: outcome.code, message: outcome.message, policy: policy.name });
        continue;
      }
      const granted = scope;
      const { config } = policy;
      return {
        allow: true,
        policy: policy.name,
        policyDigest: policy.digest,
        policyHash: this.hash,
        target: req.target,
        provider,
        scope: granted,
        mint: (mint) => provider.mint({ ...mint, scope: granted }),
        ttlMs: outcome.ttlMs,
        maxTtlMs: config.max_ttl ?? outcome.ttlMs,
        ...(outcome.actorUse === undefined ? {} : { actorUse: outcome.actorUse }),
        ...(outcome.actorUser === undefined ? {} : { actorUser: outcome.actorUser }),
      };
    }
    if (reasons.length === 0) {
      return this.#deny('policy_denied', [
        {
          code: 'no_matching_policy',
          message: `no policy grants workload "${req.workload.id}" target "${provider.target}"`,
        },
      ]);
    }
    const codes = new Set(reasons.map((r) => r.code));
    const [only] = codes;
    const code =
      codes.size === 1 && only !== undefined && SPECIFIC_DENIALS.has(only)
        ? (only as BrokerErrorCode)
        : 'policy_denied';
    return this.#deny(code, reasons);
  }

  #deny(code: BrokerErrorCode, reasons: DenyReason[]): PolicyDenial {
    return { allow: false, code, reasons, policyHash: this.hash };
  }
}

type AllowOutcome =
  | { code: string; message: string }
  | {
      ttlMs: number;
      actorUse: ActorUse | undefined;
      actorUser: string | undefined;
    };

/** One allow policy against the request: why it does not grant, or what it grants. */
function evaluateAllow(
  policy: CompiledPolicy,
  provider: Provider,
  req: PolicyRequest,
  scope: unknown,
  vars: () => ConditionVariables,
): AllowOutcome {
  const { config } = policy;
  if (!policy.intents.has('*') && !policy.intents.has(req.task.intent)) {
    return { code: 'intent_not_allowed', message: 'task intent is not among the allowed intents' };
  }
  const tool = req.task.tool;
  const toolRules = policy.tools !== undefined || policy.toolCeilings.length > 0;
  if (toolRules && tool === undefined) {
    return { code: 'tool_required', message: 'this policy grants per tool: task.tool is required' };
  }
  if (policy.tools !== undefined && !policy.tools.some((t) => t.matches(tool as string))) {
    return { code: 'tool_not_allowed', message: 'task tool is not among the allowed tools' };
  }
  const actor = checkActor(policy.actor, req);
  if (!actor.ok) return { code: actor.code, message: actor.message };
  const toolCeiling =
    tool === undefined ? undefined : policy.toolCeilings.find((t) => t.matches(tool));
  const within = provider.within(scope, toolCeiling?.ceiling ?? policy.ceiling);
  if (!within.ok) {
    return {
      code: 'scope_exceeds_ceiling',
      message:
        toolCeiling === undefined
          ? within.reason
          : `${within.reason} (the ceiling of tools "${toolCeiling.pattern}")`,
    };
  }
  const tier = provider.tierAllows?.(scope, req.workload.tier);
  if (tier && !tier.ok) return { code: 'tier_exceeded', message: tier.reason };
  const maxTtl = config.max_ttl ?? 0;
  const ttlMs = req.ttlMs ?? config.default_ttl ?? 0;
  if (!Number.isInteger(ttlMs) || ttlMs < MIN_TTL_MS || ttlMs > maxTtl) {
    // The request's `ttl` is seconds, so the bounds are told in seconds too.
    return {
      code: 'ttl_out_of_range',
      message: `ttl must be between ${MIN_TTL_MS / 1000} and ${Math.floor(maxTtl / 1000)} seconds`,
    };
  }
  if (policy.condition !== undefined) {
    const outcome = policy.condition.evaluate(vars());
    if (outcome.result === 'false') {
      return { code: 'condition_false', message: 'the policy condition is not met' };
    }
    if (outcome.result === 'error') {
      return {
        code: 'condition_error',
        message: `the policy condition failed to evaluate (${outcome.code})`,
      };
    }
    // Only an explicit `true` grants: any outcome this engine does not know denies.
    if (outcome.result !== 'true') {
      return { code: 'condition_error', message: 'the policy condition gave no answer' };
    }
  }
  return { ttlMs, actorUse: actor.use, actorUser: actor.user };
}

/**
 * Whether a deny rule refuses the request, with why. A rule naming tools also refuses a
 * request that names no tool (it cannot show it is not one of them), and a `when` that
 * fails to evaluate refuses too: a deny rule fails closed.
 */
function denyApplies(
  rule: CompiledPolicy,
  req: PolicyRequest,
  vars: () => ConditionVariables,
): string | undefined {
  if (!rule.intents.has('*') && !rule.intents.has(req.task.intent)) return undefined;
  const tool = req.task.tool;
  if (rule.tools !== undefined && tool !== undefined && !rule.tools.some((t) => t.matches(tool))) {
    return undefined;
  }
  if (rule.condition === undefined) return `deny rule "${rule.name}" refuses this request`;
  const outcome = rule.condition.evaluate(vars());
  if (outcome.result === 'false') return undefined;
  if (outcome.result === 'true') return `deny rule "${rule.name}" refuses this request`;
  return `deny rule "${rule.name}" refuses: its condition failed to evaluate`;
}

function conditionVariables(req: PolicyRequest, scope: unknown): ConditionVariables {
  const time = new Date(req.request.time);
  return {
    workload: { id: req.workload.id, tier: req.workload.tier },
    claims: req.claims,
    actor:
      req.actor === undefined
        ? null
        : { subject: req.actor.subject, issuer: req.actor.issuer, claims: req.actor.claims },
    // Absent optional fields stay absent, so `has(task.tool)` answers as CEL users expect.
    task: { ...req.task },
    scope,
    request: req.request.ip === undefined ? { time } : { ip: req.request.ip, time },
    // The request's own time, so a simulation of a past or future request is reproducible.
    now: time,
  };
}
