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
  policy?: string;
  policy_hash: string;
  code?: string;
  ttl?: number;
  tier: Tier;
  reasons: readonly DenyReason[];
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
  return decision.allow
    ? {
        allow: true,
        policy: decision.policy,
        policy_hash: decision.policyHash,
        ttl: decision.ttlMs / 1000,
        tier: workload.tier,
        reasons: [],
      }
    : {
        allow: false,
        policy_hash: decision.policyHash,
        code: decision.code,
        tier: workload.tier,
        reasons: decision.reasons,
      };
}
