import type { Provider } from '../../providers/provider.js';
import {
  type ActorBindableField,
  type PolicyConfig,
  type PolicyMode,
  TIERS,
} from '../config/schema.js';
import { type Condition, compileCondition } from './condition.js';
import { policyDigest } from './hash.js';
import { compileGlob, isGlob } from './lib/glob.js';

export interface Pattern {
  readonly pattern: string;
  readonly matches: (value: string) => boolean;
}

export interface CompiledActorRequirement {
  /** `iss` values of the trusted actor issuers. */
  readonly issuers: ReadonlySet<string>;
  readonly bind: readonly (readonly [claim: string, field: ActorBindableField])[];
  readonly userClaim: string | undefined;
  readonly oneTime: boolean;
}

export interface CompiledPolicy {
  readonly config: PolicyConfig;
  readonly name: string;
  /** Position in the file: explanations list policies in it, whatever the index returns. */
  readonly order: number;
  readonly effect: 'allow' | 'deny';
  readonly mode: PolicyMode;
  readonly digest: string;
  readonly provider: Provider;
  /** `allow`, parsed by the provider's ceiling schema (allow policies). */
  readonly ceiling: unknown;
  /** `tool_ceilings`, in the order written; the first whose glob matches `task.tool` applies. */
  readonly toolCeilings: readonly (Pattern & { readonly ceiling: unknown })[];
  readonly tools: readonly Pattern[] | undefined;
  readonly condition: Condition | undefined;
  readonly workloadIds: readonly string[];
  readonly workloadTiers: readonly string[];
  readonly workloadGlobs: readonly Pattern[];
  readonly intents: ReadonlySet<string>;
  /** `true`: any verified actor; an object: issuers, bindings, one-time use. */
  readonly actor: CompiledActorRequirement | boolean;
}

export interface PolicyIssue {
  path: string;
  problem: string;
}

export interface CompileContext {
  readonly providers: ReadonlyMap<string, Provider>;
  /** Configured identity issuers, name → `iss`: what `require_actor.issuers` may name. */
  readonly actorIssuers: ReadonlyMap<string, string>;
  readonly defaultMode: PolicyMode;
}

/**
 * Checks one policy against its target's provider and compiles it. Every problem is pushed
 * to `issues` (not thrown at the first), so a load or `config validate` names them all;
 * the result is undefined when any was found.
 */
export function compilePolicy(
  config: PolicyConfig,
  order: number,
  ctx: CompileContext,
  issues: PolicyIssue[],
): CompiledPolicy | undefined {
  const at = `policies[${order}]`;
  const before = issues.length;
  const fail = (field: string, problem: string) => issues.push({ path: `${at}.${field}`, problem });
  const provider = ctx.providers.get(config.target);
  if (provider === undefined) {
    fail('target', `unknown target "${config.target}"`);
    return undefined;
  }

  const workloadIds: string[] = [];
  const workloadTiers: string[] = [];
  const workloadGlobs: Pattern[] = [];
  config.workloads.forEach((entry, index) => {
    if (entry.startsWith('tier:')) {
      const tier = entry.slice(5);
      if (!(TIERS as readonly string[]).includes(tier)) {
        fail(`workloads[${index}]`, `unknown tier "${tier}" (one of ${TIERS.join(', ')})`);
      }
      workloadTiers.push(tier);
    } else if (isGlob(entry)) {
      workloadGlobs.push({ pattern: entry, matches: compileGlob(entry) });
    } else {
      workloadIds.push(entry);
    }
  });

  const hasToolRules = config.tools !== undefined || config.tool_ceilings !== undefined;
  if (hasToolRules && provider.seesTools !== true) {
    fail(
      config.tools === undefined ? 'tool_ceilings' : 'tools',
      `${provider.kind} target "${provider.target}" never sees tools: its credentials are not bound to one, so a per-tool rule would not hold past issuance`,
    );
  }

  const effect = config.effect;
  const asRecord = config as unknown as Record<string, unknown>;
  if (effect === 'deny') {
    // `approval` is a key of the approvals feature: a deny rule has nothing to approve.
    if (asRecord.approval !== undefined) fail('approval', 'a deny rule cannot require approval');
    if (config.require_actor !== false) {
      fail('require_actor', 'a deny rule refuses whoever acts: require_actor has no meaning');
    }
  }

  let ceiling: unknown;
  const toolCeilings: (Pattern & { ceiling: unknown })[] = [];
  if (effect === 'allow') {
    ceiling = parseCeiling(provider, config.allow, 'allow', fail);
    for (const [pattern, value] of Object.entries(config.tool_ceilings ?? {})) {
      const parsed = parseCeiling(provider, value, `tool_ceilings.${pattern}`, fail);
      toolCeilings.push({ pattern, matches: compileGlob(pattern), ceiling: parsed });
    }
    if (
      provider.maxTtlMs !== undefined &&
      config.max_ttl !== undefined &&
      config.max_ttl > provider.maxTtlMs
    ) {
      fail(
        'max_ttl',
        `${provider.kind} target "${provider.target}" gives credentials at most ${Math.floor(provider.maxTtlMs / 1000)} seconds`,
      );
    }
  }

  let condition: Condition | undefined;
  if (config.when !== undefined) {
    try {
      condition = compileCondition(config.when);
    } catch (err) {
      fail('when', (err as Error).message);
    }
  }

  let actor: CompiledActorRequirement | boolean = false;
  const requirement = config.require_actor;
  if (typeof requirement === 'boolean') {
    actor = requirement;
  } else {
    const issuers = new Set<string>();
    requirement.issuers.forEach((issuerName, index) => {
      const iss = ctx.actorIssuers.get(issuerName);
      if (iss === undefined) {
        fail(`require_actor.issuers[${index}]`, `no identity issuer named "${issuerName}"`);
      } else {
        issuers.add(iss);
      }
    });
    actor = {
      issuers,
      bind: Object.entries(requirement.bind),
      userClaim: requirement.user_claim,
      oneTime: requirement.one_time,
    };
  }

  if (issues.length > before) return undefined;
  return {
    config,
    name: config.name,
    order,
    effect,
    mode: config.mode ?? ctx.defaultMode,
    digest: policyDigest(config),
    provider,
    ceiling,
    toolCeilings,
    tools: config.tools?.map((pattern) => ({ pattern, matches: compileGlob(pattern) })),
    condition,
    workloadIds,
    workloadTiers,
    workloadGlobs,
    intents: new Set(config.intents),
    actor,
  };
}

function parseCeiling(
  provider: Provider,
  value: unknown,
  field: string,
  fail: (field: string, problem: string) => void,
): unknown {
  const parsed = provider.ceiling.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .map((issue) => `${formatPath(issue.path)}: ${issue.message}`)
    .join('; ');
  fail(field, `not a valid ceiling for ${provider.kind} target "${provider.target}": ${problems}`);
  return undefined;
}

/** `scopes[0].name`; segments that are not plain names are not echoed. */
export function formatPath(path: readonly PropertyKey[]): string {
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
