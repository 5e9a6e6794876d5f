import { describeRule, grantNeedsApproval } from '../approvals/rule.js';
import type { Tier } from '../config/schema.js';
import { BrokerError, type DenyReason } from '../errors.js';
import type { BrokerDeps } from './deps.js';
import type { CredentialRequest } from './types.js';

export interface SimulationRequest {
  workload: string;
  claims: Record<string, unknown>;
  actor?: { subject: string; issuer: string; claims: Record<string, unknown> };
  target: string;
  scope: unknown;
  ttl?: number;
  task: CredentialRequest['task'];
  /** The address the hypothetical request comes from (CEL's `request.ip`). */
  ip?: string;
}

export interface Simulation {
  allow: boolean;
  /** The granting policy, or the deny rule that refused. */
  policy?: string;
  policy_hash: string;
  code?: string;
  ttl?: number;
  tier: Tier;
  /** Every considered policy with why it did not grant (empty when granted). */
  reasons: readonly DenyReason[];
  /**
   * Granted requests: whether the live path would hold it for an operator (202) and, when it
   * would, the deciding policy's approval rule.
   */
  approval?: { required: boolean; rule?: Record<string, unknown> };
  /** What the set would decide with its dry-run policies enforced, when any took part. */
  dry_run?: {
    allow: boolean;
    policy?: string;
    code?: string;
    differs: boolean;
    reasons: readonly DenyReason[];
  };
}

/** `POST /v1/policy/simulate`: the decision for a hypothetical request; nothing is minted. */
export function simulate(deps: BrokerDeps, req: SimulationRequest): Simulation {
  const runtime = deps.runtime();
  const workload = runtime.workloads.get(req.workload);
  if (!workload) throw new BrokerError('not_found', `no workload ${req.workload}`);
  const decision = runtime.policy.decide({
    workload: { id: workload.id, tier: workload.tier },
    claims: req.claims,
    ...(req.actor === undefined ? {} : { actor: req.actor }),
    target: req.target,
    scope: req.scope,
    ...(req.ttl === undefined ? {} : { ttlMs: req.ttl * 1000 }),
    task: req.task,
    request: { time: Date.now(), ...(req.ip === undefined ? {} : { ip: req.ip }) },
  });
  const dryRun = decision.dryRun;
  const dry =
    dryRun === undefined
      ? {}
      : {
          dry_run: {
            allow: dryRun.allow,
            ...(dryRun.policy === undefined ? {} : { policy: dryRun.policy }),
            ...(dryRun.code === undefined ? {} : { code: dryRun.code }),
            differs: dryRun.differs,
            reasons: dryRun.reasons,
          },
        };
  if (decision.allow) {
    const rule = runtime.policies.get(decision.policy)?.approval;
    const required = grantNeedsApproval(rule, decision, {
      tier: workload.tier,
      tool: req.task.tool,
    });
    return {
      allow: true,
      policy: decision.policy,
      policy_hash: decision.policyHash,
      ttl: decision.ttlMs / 1000,
      tier: workload.tier,
      reasons: [],
      approval:
        required && rule !== undefined ? { required, rule: describeRule(rule) } : { required },
      ...dry,
    };
  }
  return {
    allow: false,
    policy_hash: decision.policyHash,
    ...(decision.deniedBy === undefined ? {} : { policy: decision.deniedBy }),
    code: decision.code,
    tier: workload.tier,
    reasons: decision.reasons,
    ...dry,
  };
}
