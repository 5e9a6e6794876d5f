import {
  PROVIDER_KINDS,
  type Provider,
  type ProviderContext,
  type ProviderKind,
} from '../../providers/provider.js';
import { providerFactories } from '../../providers/registry.js';
import { approvalCeilingIssues } from '../approvals/load-check.js';
import { nameIssue } from '../config/issue-path.js';
import { ConfigError, formatIssues } from '../config/load.js';
import type { BrokerConfig, WorkloadConfig } from '../config/schema.js';
import { PolicyConfigError, PolicyEngine } from './engine.js';

export interface PolicySet {
  engine: PolicyEngine;
  workloads: ReadonlyMap<string, WorkloadConfig>;
  /** Identity issuers, name → `iss`. */
  issuers: ReadonlyMap<string, string>;
  close(): void;
}

/**
 * The policy engine of a configuration and nothing else: targets' providers are built for
 * their scope and ceiling schemas (constructing one opens no connection), no identity
 * issuer, lease store or sink is. What `policy test` decides with.
 */
export function buildPolicySet(config: BrokerConfig, ctx: ProviderContext): PolicySet {
  const issues: string[] = [];
  const providers = new Map<string, Provider>();
  const close = () => {
    for (const p of providers.values()) void p.close?.();
  };
  config.targets.forEach((target, i) => {
    if (!(PROVIDER_KINDS as readonly string[]).includes(target.provider)) {
      issues.push(`targets.${i}.provider: unknown provider ${target.provider}`);
      return;
    }
    const factory = providerFactories[target.provider as ProviderKind];
    const parsed = factory.config.safeParse(target);
    if (!parsed.success) {
      issues.push(...formatIssues(parsed.error, ['targets', i], { root: config }));
      return;
    }
    try {
      providers.set(target.name, factory.create(target, ctx));
    } catch (err) {
      issues.push(`targets.${i}: ${(err as Error).message}`);
    }
  });
  // The same load check `serve` and `config validate` make: a bad `beyond` is an error here
  // too, not a case that quietly answers `approval`.
  if (issues.length === 0) issues.push(...approvalCeilingIssues(config.policies, providers));
  let engine: PolicyEngine | undefined;
  if (issues.length === 0) {
    try {
      engine = new PolicyEngine(config.policies, providers, {
        actorIssuers: new Map(config.issuers.map((i) => [i.name, i.issuer])),
        mode: config.policy_mode,
      });
    } catch (err) {
      if (!(err instanceof PolicyConfigError)) throw err;
      issues.push(...err.issues);
    }
  }
  if (engine === undefined) {
    close();
    throw new ConfigError(issues.map((issue) => nameIssue(issue, config)));
  }
  return {
    engine,
    workloads: new Map(config.workloads.map((w) => [w.id, w])),
    issuers: new Map(config.issuers.map((i) => [i.name, i.issuer])),
    close,
  };
}
