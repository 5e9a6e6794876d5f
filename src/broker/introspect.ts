import { permits } from '../access/permits.js';
import type { WorkloadPrincipal } from '../identity/types.js';
import type { BrokerDeps } from './deps.js';

/**
 * RFC 7662 for tokens the broker can verify itself. The caller must be a resource server of
 * the token's audience; anything else answers `{active: false}` so nothing leaks about other
 * tokens.
 */
export async function introspect(
  deps: BrokerDeps,
  token: string,
  caller: WorkloadPrincipal,
): Promise<Record<string, unknown>> {
  for (const provider of deps.runtime().providers.values()) {
    const introspection = provider.introspection;
    if (introspection === undefined) continue;
    const resource = { resourceServers: introspection.resourceServers };
    if (!permits(caller, 'token.introspect', resource)) continue;
    const payload = await introspection.verify(token);
    if (!payload || typeof payload.jti !== 'string') continue;
    const lease = await deps.store.get(payload.jti);
    if (lease?.state !== 'active' || lease.target !== provider.target) return { active: false };
    // A renewal reissues the token under the same `jti`: the older token keeps its own
    // signed `exp`, and is inactive once that has passed even though the lease lives on.
    const exp = Math.min(
      typeof payload.exp === 'number' ? payload.exp * 1000 : lease.expiresAt,
      lease.expiresAt,
    );
    if (exp <= (await deps.store.now())) return { active: false };
    return { active: true, ...payload, exp: Math.floor(exp / 1000), token_type: 'Bearer' };
  }
  return { active: false };
}
