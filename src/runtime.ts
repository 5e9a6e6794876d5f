import {
  PROVIDER_KINDS,
  type Provider,
  type ProviderContext,
  type ProviderKind,
} from '../providers/provider.js';
import { providerFactories } from '../providers/registry.js';
import { approvalCeilingIssues } from './approvals/load-check.js';
import type { BrokerRuntime } from './broker/deps.js';
import { brokerTokenLiveness, type LeaseReader } from './broker/live-token.js';
import { nameIssue } from './config/issue-path.js';
import { ConfigError, formatIssues } from './config/load.js';
import type { BrokerConfig, WorkloadConfig } from './config/schema.js';
import { detectionReferenceIssues } from './detections/config.js';
import { readAuditSigningConfig } from './events/signing/index.js';
import { readSinkConfigs } from './events/sinks/index.js';
import { OperatorAuthenticator } from './identity/operators.js';
import type { ReplayGuard } from './identity/replay-guard.js';
import { IdentityVerifier } from './identity/verifier.js';
import { HandleSealer } from './leases/sealing.js';
import {
  type AuthorizationServer,
  buildAuthorizationServer,
} from './oauth/authorization-server.js';
import type { ActorUseLedger } from './policy/actor-ledger.js';
import { PolicyConfigError, PolicyEngine } from './policy/engine.js';
import { isGlob } from './policy/lib/glob.js';

/** Everything built from one configuration; a reload builds a new one and swaps it whole. */
export interface Runtime extends BrokerRuntime {
  config: BrokerConfig;
  identity: IdentityVerifier;
  operators: OperatorAuthenticator;
  sealer: HandleSealer;
  /** `/oauth/*` as an authorization server: issuer, resources, enterprise IdPs. */
  authorizationServer: AuthorizationServer;
}

export interface RuntimeOptions {
  fetch?: typeof fetch;
  providerContext: ProviderContext;
  /** One-time `jti` store; shared by all replicas when it is Redis. */
  replayGuard?: ReplayGuard;
  /** Which task each one-time actor token was used for; shared when it is Redis. */
  actorUses?: ActorUseLedger;
  /**
   * The lease store: with it, a token the broker signed is accepted as an identity (subject,
   * actor, client assertion) only while its lease is live. Absent where nothing authenticates
   * (`config validate`).
   */
  leases?: LeaseReader;
}

/**
 * Checks what the schema cannot (references between sections, one provider per target,
 * ceilings, CEL) and builds the runtime. Throws ConfigError naming every bad field.
 */
export function buildRuntime(config: BrokerConfig, options: RuntimeOptions): Runtime {
  const issues: string[] = [];
  const issuerNames = new Set(config.issuers.map((i) => i.name));
  unique(
    config.issuers.map((i) => i.name),
    'issuers',
    'name',
    issues,
  );
  unique(
    config.workloads.map((w) => w.id),
    'workloads',
    'id',
    issues,
  );
  unique(
    config.targets.map((t) => t.name),
    'targets',
    'name',
    issues,
  );
  config.workloads.forEach((w, i) => {
    if (!issuerNames.has(w.issuer))
      issues.push(`workloads.${i}.issuer: no issuer named ${w.issuer}`);
  });
  const workloadAudiences = new Set(config.issuers.map((i) => `${i.issuer} ${i.audience}`));
  config.operators.issuers.forEach((o, i) => {
    if (workloadAudiences.has(`${o.issuer} ${o.audience}`)) {
      issues.push(
        `operators.issuers.${i}.audience: must differ from the workload audience of the same issuer`,
      );
    }
  });
  let encryptionBroken = false;
  config.encryption.keys.forEach((k, i) => {
    if (Buffer.from(k.key, 'base64').length !== 32) {
      issues.push(`encryption.keys.${i}.key: must be 32 bytes, base64`);
      encryptionBroken = true;
    }
  });

  // Each sink kind reads its own entries, as providers do targets: checked here, `config
  // validate` refuses what `createSinks` would refuse at start.
  issues.push(...readSinkConfigs(config.events).issues);
  issues.push(...readAuditSigningConfig(config.events).issues);

  const providers = new Map<string, Provider>();
  let targetsBroken = false;
  config.targets.forEach((target, i) => {
    if (!(PROVIDER_KINDS as readonly string[]).includes(target.provider)) {
      issues.push(
        `targets.${i}.provider: unknown provider ${target.provider} (known: ${PROVIDER_KINDS.join(', ')})`,
      );
      targetsBroken = true;
      return;
    }
    const factory = providerFactories[target.provider as ProviderKind];
    const parsed = factory.config.safeParse(target);
    if (!parsed.success) {
      issues.push(
        ...formatIssues(parsed.error, ['targets', i], { root: config, schema: factory.config }),
      );
      targetsBroken = true;
      return;
    }
    try {
      providers.set(target.name, factory.create(target, options.providerContext));
    } catch (err) {
      issues.push(`targets.${i}: ${(err as Error).message}`);
      targetsBroken = true;
    }
  });
  const knownWorkloads = new Set(config.workloads.map((w) => w.id));
  config.policies.forEach((p, i) => {
    p.workloads.forEach((w, j) => {
      // Tiers and globs match whoever fits; an exact id must name a workload.
      if (!w.startsWith('tier:') && !isGlob(w) && !knownWorkloads.has(w)) {
        issues.push(`policies.${i}.workloads.${j}: no workload named ${w}`);
      }
    });
  });

  issues.push(...approvalCeilingIssues(config.policies, providers));
  issues.push(...detectionReferenceIssues(config.detections, config.workloads));

  let policy: PolicyEngine | undefined;
  let sealer: HandleSealer | undefined;
  const attempt = <T>(where: string, build: () => T): T | undefined => {
    try {
      return build();
    } catch (err) {
      if (err instanceof PolicyConfigError) issues.push(...err.issues);
      else issues.push(`${where}: ${(err as Error).message}`);
      return undefined;
    }
  };
  // Each part is built even when another failed, so one run names every problem; only a
  // part that depends on a broken one is skipped (and said to be).
  const skipped: string[] = [];
  if (targetsBroken) {
    if (config.policies.length > 0) {
      skipped.push(
        `${config.policies.length} policy checks (target, ceiling, condition) skipped because a target has errors`,
      );
    }
  } else {
    // The engine owns the policy rules (unique names included); its errors name their field.
    const actorIssuers = new Map(config.issuers.map((i) => [i.name, i.issuer]));
    policy = attempt(
      'policies',
      () =>
        new PolicyEngine(config.policies, providers, {
          actorIssuers,
          mode: config.policy_mode,
          ...(options.actorUses === undefined ? {} : { actorUses: options.actorUses }),
        }),
    );
  }
  const fetchOption = options.fetch === undefined ? {} : { fetch: options.fetch };
  const identity = attempt(
    'issuers',
    () =>
      new IdentityVerifier(config.issuers, config.workloads, {
        ...fetchOption,
        ...(options.replayGuard === undefined ? {} : { replayGuard: options.replayGuard }),
        ...(options.leases === undefined
          ? {}
          : {
              liveness: brokerTokenLiveness({
                issuer: options.providerContext.brokerUrl,
                providers,
                store: options.leases,
              }),
            }),
      }),
  );
  let authorizationServer: AuthorizationServer | undefined;
  try {
    authorizationServer = buildAuthorizationServer(config, {
      issuer: options.providerContext.brokerUrl,
      replayGuard: options.replayGuard,
      fetch: options.fetch,
    });
  } catch (err) {
    // Its messages name the field (`resources.0.target: …`).
    issues.push((err as Error).message);
  }
  const operators = attempt(
    'operators',
    () => new OperatorAuthenticator(config.operators, fetchOption),
  );
  if (!encryptionBroken) {
    sealer = attempt('encryption', () => HandleSealer.fromConfig(config.encryption.keys));
  }
  if (issues.length > 0 || !policy || !identity || !operators || !sealer || !authorizationServer) {
    for (const p of providers.values()) void p.close?.();
    // Event sink paths keep their index until the sink tests expect names (see issue-path.ts).
    const named = issues.map((issue) =>
      issue.startsWith('events.') ? issue : nameIssue(issue, config),
    );
    const notes = skipped.map((note) => `(${note})`);
    throw new ConfigError(
      named.length > 0 ? [...named, ...notes] : ['configuration could not be built'],
    );
  }
  return {
    config,
    workloads: new Map<string, WorkloadConfig>(config.workloads.map((w) => [w.id, w])),
    providers,
    policy,
    policies: new Map(config.policies.map((p) => [p.name, p])),
    approvals: config.approvals,
    reviewWarningMs: config.review_warning,
    identity,
    operators,
    sealer,
    authorizationServer,
  };
}

function unique(values: readonly string[], section: string, field: string, issues: string[]): void {
  const seen = new Set<string>();
  values.forEach((v, i) => {
    if (seen.has(v)) issues.push(`${section}.${i}.${field}: duplicate ${field} ${v}`);
    seen.add(v);
  });
}
