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

export interface PolicyGrant {
  allow: true;
  /** Name of the deciding policy. */
  policy: string;
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
}

export interface PolicyDenial {
  allow: false;
  code: BrokerErrorCode;
  reasons: DenyReason[];
  policyHash: string;
}

export type Decision = PolicyGrant | PolicyDenial;
