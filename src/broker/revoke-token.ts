import { permitsOnLease } from '../access/permits.js';
import type { WorkloadPrincipal } from '../identity/types.js';
import type { Caller } from '../lib/caller.js';
import type { BrokerDeps } from './deps.js';
import { settleRevokeRequest } from './lib/revocation.js';

/**
 * RFC 7009 for tokens the broker can verify itself: the token's lease ends when the client
 * owns it. RFC 7009 §2.2 answers an unknown or invalid token as a success, and so does this
 * for another workload's token (nothing is revoked): the caller learns nothing either way.
 * Returns whether a lease was ended.
 */
export async function revokeToken(
  deps: BrokerDeps,
  token: string,
  client: WorkloadPrincipal,
  caller: Caller,
): Promise<boolean> {
  for (const provider of deps.runtime().providers.values()) {
    const payload = await provider.introspection?.verify(token);
    if (!payload || typeof payload.jti !== 'string') continue;
    const lease = await deps.store.get(payload.jti);
    if (lease === null || lease.target !== provider.target) return false;
    if (!permitsOnLease(client, 'oauth.revoke', lease)) return false;
    const [request] = await deps.store.requestRevoke([lease.id], 'owner');
    const settled = await settleRevokeRequest(deps, request, lease, caller);
    return settled.state === 'revoked' || settled.state === 'revoking';
  }
  return false;
}
