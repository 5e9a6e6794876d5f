import { permits } from '../access/permits.js';
import type { WorkloadPrincipal } from '../identity/types.js';
import type { BrokerDeps } from './deps.js';
import { liveUntil } from './live-token.js';

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
    const until = await liveUntil(deps.store, provider.target, payload);
    if (until === undefined) return { active: false };
    return { active: true, ...payload, exp: Math.floor(until / 1000), token_type: 'Bearer' };
  }
  return { active: false };
}
