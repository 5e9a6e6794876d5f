import type { Provider } from '../../providers/provider.js';
import { type PolicyConfig, TIERS } from '../config/schema.js';
import type { BrokerErrorCode, DenyReason } from '../errors.js';
import { type Condition, type ConditionVariables, compileCondition } from './condition.js';
import { PolicyConfigError } from './errors.js';
import { contentHash } from './hash.js';
import type { Decision, PolicyDenial, PolicyRequest } from './types.js';

export { PolicyConfigError } from './errors.js';
export type { Decision, PolicyDenial, PolicyGrant, PolicyRequest } from './types.js';

interface CompiledPolicy {
  readonly config: PolicyConfig;
  readonly provider: Provider;
  /** `allow`, parsed by the provider's ceiling schema. */
  readonly ceiling: unknown;
  readonly condition: Condition | undefined;
  readonly workloads: ReadonlySet<string>;
  readonly intents: ReadonlySet<string>;
}

/** Reason codes that, when every candidate policy failed with the same one, become the code. */
const SPECIFIC_DENIALS: ReadonlySet<string> = new Set<BrokerErrorCode>([
  'intent_not_allowed',
  'scope_exceeds_ceiling',
  'ttl_out_of_range',
]);

const MIN_TTL_MS = 1_000;

/**
 * Decides credential requests against a policy set, deny by default. A request is granted by
 * the first policy (in config order) that names the target and the workload (by id or
 * `tier:<tier>`) and whose intents, actor requirement, scope ceiling, TTL bounds and `when`
 * condition all hold. Everything is validated and compiled here, once, so a bad policy set
 * is refused at load (and on reload) instead of surfacing in a decision.
 */
export class PolicyEngine {
  /** Content hash of the policy set, stamped on every lease and event. */
  readonly hash: string;
  readonly #policies: readonly CompiledPolicy[];
  readonly #providers: ReadonlyMap<string, Provider>;

  constructor(policies: readonly PolicyConfig[], providers: ReadonlyMap<string, Provider>) {
    this.#providers = providers;
    this.hash = contentHash(policies);
    const names = new Set<string>();
    this.#policies = policies.map((policy, index) => {
      const at = `policies[${index}]`;
      if (names.has(policy.name)) {
        throw new PolicyConfigError(`${at}.name`, `duplicate policy name "${policy.name}"`);
      }
      names.add(policy.name);
      return compile(policy, at, providers);
    });
  }

  decide(req: PolicyRequest): Decision {
    const provider = this.#providers.get(req.target);
    if (provider === undefined) {
      return this.#deny('target_unknown', [
        { code: 'target_unknown', message: 'no target of that name is configured' },
      ]);
    }
    return this.#decideFor(provider, req);
  }

  /**
   * Generic in the provider's `Scope`: the scope its schema parses is the one its ceiling,
   * tier rule and (through the grant) its `mint` receive, and the compiler holds them to it.
   */
  #decideFor<Scope>(provider: Provider<Scope>, req: PolicyRequest): Decision {
    const scope = provider.scope.safeParse(req.scope);
    if (!scope.success) {
      // Paths and issue codes only: the rejected values are the caller's and may be anything.
      return this.#deny(
        'scope_invalid',
        scope.error.issues.map((issue) => ({
          code: 'scope_invalid',
          message: `${formatPath(issue.path)}: ${issue.code}`,
        })),
      );
    }

    const candidates = this.#policies.filter(
      (policy) =>
        policy.config.target === req.target &&
        (policy.workloads.has(req.workload.id) ||
          policy.workloads.has(`tier:${req.workload.tier}`)),
    );
    if (candidates.length === 0) {
      return this.#deny('policy_denied', [
        {
          code: 'no_matching_policy',
          message: `no policy grants workload "${req.workload.id}" target "${provider.target}"`,
        },
      ]);
    }

    let variables: ConditionVariables | undefined;
    const reasons: DenyReason[] = [];
    for (const policy of candidates) {
      const { config } = policy;
      const reason = (code: string, message: string): DenyReason => ({
        code,
        message,
        policy: config.name,
      });
      if (!policy.intents.has('*') && !policy.intents.has(req.task.intent)) {
        reasons.push(reason('intent_not_allowed', 'task intent is not among the allowed intents'));
        continue;
      }
      if (config.require_actor && req.actor === undefined) {
        reasons.push(reason('actor_required', 'a verified actor assertion is required'));
        continue;
      }
      const within = provider.within(scope.data, policy.ceiling);
      if (!within.ok) {
        reasons.push(reason('scope_exceeds_ceiling', within.reason));
        continue;
      }
      const tier = provider.tierAllows?.(scope.data, req.workload.tier);
      if (tier && !tier.ok) {
        reasons.push(reason('tier_exceeded', tier.reason));
        continue;
      }
      const ttlMs = req.ttlMs ?? config.default_ttl;
      if (!Number.isInteger(ttlMs) || ttlMs < MIN_TTL_MS || ttlMs > config.max_ttl) {
        // The request's `ttl` is seconds, so the bounds are told in seconds too.
        reasons.push(
          reason(
            'ttl_out_of_range',
            `ttl must be between ${MIN_TTL_MS / 1000} and ${Math.floor(config.max_ttl / 1000)} seconds`,
          ),
        );
        continue;
      }
      if (policy.condition !== undefined) {
        variables ??= conditionVariables(req, scope.data);
        const outcome = policy.condition.evaluate(variables);
        if (outcome.result === 'false') {
          reasons.push(reason('condition_false', 'the policy condition is not met'));
          continue;
        }
        if (outcome.result === 'error') {
          reasons.push(
            reason('condition_error', `the policy condition failed to evaluate (${outcome.code})`),
          );
          continue;
        }
        // Only an explicit `true` grants: any outcome this engine does not know denies.
        if (outcome.result !== 'true') {
          reasons.push(reason('condition_error', 'the policy condition gave no answer'));
          continue;
        }
      }
      const granted = scope.data;
      return {
        allow: true,
        policy: config.name,
        policyHash: this.hash,
        target: req.target,
        provider,
        scope: granted,
        mint: (mint) => provider.mint({ ...mint, scope: granted }),
        ttlMs,
        maxTtlMs: config.max_ttl,
      };
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

function compile(
  config: PolicyConfig,
  at: string,
  providers: ReadonlyMap<string, Provider>,
): CompiledPolicy {
  const provider = providers.get(config.target);
  if (provider === undefined) {
    throw new PolicyConfigError(`${at}.target`, `unknown target "${config.target}"`);
  }
  config.workloads.forEach((entry, index) => {
    if (entry.startsWith('tier:') && !(TIERS as readonly string[]).includes(entry.slice(5))) {
      throw new PolicyConfigError(
        `${at}.workloads[${index}]`,
        `unknown tier "${entry.slice(5)}" (one of ${TIERS.join(', ')})`,
      );
    }
  });
  const ceiling = provider.ceiling.safeParse(config.allow);
  if (!ceiling.success) {
    const problems = ceiling.error.issues
      .map((issue) => `${formatPath(issue.path)}: ${issue.message}`)
      .join('; ');
    throw new PolicyConfigError(
      `${at}.allow`,
      `not a valid ceiling for ${provider.kind} target "${provider.target}": ${problems}`,
    );
  }
  let condition: Condition | undefined;
  if (config.when !== undefined) {
    try {
      condition = compileCondition(config.when);
    } catch (err) {
      throw new PolicyConfigError(`${at}.when`, (err as Error).message);
    }
  }
  return {
    config,
    provider,
    ceiling: ceiling.data,
    condition,
    workloads: new Set(config.workloads),
    intents: new Set(config.intents),
  };
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

/** `scopes[0].name`; segments that are not plain names are not echoed. */
function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((segment, index) => {
      if (typeof segment === 'number') return `[${segment}]`;
      if (typeof segment === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(segment)) {
        return index === 0 ? segment : `.${segment}`;
      }
      return '[?]';
    })
    .join('');
}
