import type { JWTPayload } from 'jose';
import type { Provider } from '../../providers/provider.js';
import { Rejection } from '../identity/rejection.js';
import type { VerifiedIdentity } from '../identity/types.js';
import type { LeaseStore } from '../leases/types.js';

/** What the liveness rule reads of the lease store. */
export type LeaseReader = Pick<LeaseStore, 'get' | 'now'>;

/**
 * The one rule for a token the broker signed: it is valid while its lease (its `jti`) is
 * active, of the target that verified it, and neither the token's own `exp` nor the lease's
 * expiry has passed. A renewal reissues under the same `jti`, so an older token still ends at
 * its own `exp`. Returns that end (ms since epoch), or undefined when the token is not live.
 */
export async function liveUntil(
  store: LeaseReader,
  target: string,
  payload: JWTPayload,
): Promise<number | undefined> {
  if (typeof payload.jti !== 'string') return undefined;
  const lease = await store.get(payload.jti);
  if (lease?.state !== 'active' || lease.target !== target) return undefined;
  const exp = Math.min(
    typeof payload.exp === 'number' ? payload.exp * 1000 : lease.expiresAt,
    lease.expiresAt,
  );
  return exp > (await store.now()) ? exp : undefined;
}

/** Refuses a verified identity that is a token of the broker's own whose lease is over. */
export type LivenessCheck = (token: string, identity: VerifiedIdentity) => Promise<void>;

export interface BrokerTokenLivenessOptions {
  /** The broker's `public_url`: the `iss` of every token it signs. */
  issuer: string;
  providers: ReadonlyMap<string, Provider>;
  store: LeaseReader;
}

/**
 * A token whose `iss` is the broker's is one the broker signed, whatever configured issuer
 * let it in as an identity: it counts only while a target that can introspect it vouches for
 * it and its lease is live. One that no such target verifies any more (expired by its own
 * `exp` within an issuer's clock tolerance, or signed by a key retired from the target) is
 * refused as well, so a revocation can never be outlived.
 */
export function brokerTokenLiveness(options: BrokerTokenLivenessOptions): LivenessCheck {
  return async (token, identity) => {
    if (identity.iss !== options.issuer) return;
    for (const provider of options.providers.values()) {
      const payload = await provider.introspection?.verify(token);
      if (!payload) continue;
      if ((await liveUntil(options.store, provider.target, payload)) !== undefined) return;
      break;
    }
    throw new Rejection('revoked', 'the token was issued by this broker and is no longer live');
  };
}
