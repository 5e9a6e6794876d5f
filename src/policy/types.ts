import type { Minted, MintRequest, Provider } from '../../providers/provider.js';
import type { Tier } from '../config/schema.js';
import type { BrokerErrorCode, DenyReason } from '../errors.js';

export interface PolicyRequest {
  workload: { id: string; tier: Tier };
  /** Claims of the verified workload identity. */
  claims: Record<string, unknown>;
  /** A verified actor/task assertion (RFC 8693 `actor_token`), when the request carried one. */
  actor?: { subject: string; issuer: string; claims: Record<string, unknown> };
  target: string;
  /** As the workload sent it; the target's provider parses it. */
  scope: unknown;
  ttlMs?: number;
  task: { id: string; intent: string; tool?: string; context?: Record<string, unknown> };
  /** `time` is ms since the epoch; CEL sees it, and `now`, as a timestamp. */
  request: { ip?: string; time: number };
}

/** A mint request of the grant's scope: everything but the scope, which the grant holds. */
export type GrantedMint = Omit<MintRequest<unknown>, 'scope'>;

/**
 * A one-time actor token the grant stands on: issuance records `jti → task id` until the
 * token's expiry and refuses the grant when the token was already used for another task.
 */
export interface ActorUse {
  /** The actor token's `iss`. */
  issuer: string;
  jti: string;
  taskId: string;
  /** The token's `exp`, ms since the epoch. */
  expiresAt: number;
}

/** What the set would have decided with its dry-run policies enforced too. */
export interface DryRunOutcome {
  allow: boolean;
  /** The policy that would have granted, or the deny rule that would have refused. */
  policy?: string;
  code?: BrokerErrorCode;
  reasons: DenyReason[];
  /** True when the caller's (enforced) outcome is not this one. */
  differs: boolean;
  /** The dry-run policies that took part in the decision. */
  policies: string[];
}

export interface PolicyGrant {
  allow: true;
  /** Name of the deciding policy. */
  policy: string;
  /** `policyDigest` of the deciding policy: changes whenever any field of it does. */
  policyDigest: string;
  policyHash: string;
  target: string;
  /** The target's provider, the one that parsed `scope`: issuance looks it up nowhere else. */
  provider: Provider;
  /**
   * Parsed by the provider's scope schema, exactly as requested: never widened to the
   * ceiling. What the lease records and the events show.
   */
  scope: unknown;
  /**
   * Mints exactly `scope` at `provider`. Bound where the provider's `Scope` type is known, so
   * the provider receives the value its own schema produced, typed, and never parses it again.
   */
  mint(req: GrantedMint): Promise<Minted<unknown>>;
  ttlMs: number;
  /** The deciding policy's `max_ttl`: the bound for renewals. */
  maxTtlMs: number;
  /** Present when the deciding policy's actor requirement is one-time. */
  actorUse?: ActorUse;
  /** The actor's user, from the claim the deciding policy names (`require_actor.user_claim`). */
  actorUser?: string;
  dryRun?: DryRunOutcome;
}

export interface PolicyDenial {
  allow: false;
  code: BrokerErrorCode;
  /** Every considered policy with why it did not grant (or the deny rule that refused). */
  reasons: DenyReason[];
  policyHash: string;
  /** The deny rule that refused, when one did. */
  deniedBy?: string;
  dryRun?: DryRunOutcome;
}

export type Decision = PolicyGrant | PolicyDenial;
