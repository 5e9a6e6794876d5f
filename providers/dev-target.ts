import { generateDevKey } from './jwt/dev-key.js';

/**
 * The one target `jit-broker dev` serves: broker-signed tokens for a demo API, under a key
 * generated at each start. Dev mode is the only composition that picks a provider kind, and
 * it does so here, beside the registry, so the core never names one.
 */
export async function devTarget(options: {
  name: string;
  audience: string;
  resourceServers: readonly string[];
}): Promise<Record<string, unknown>> {
  return {
    name: options.name,
    provider: 'jwt',
    audience: options.audience,
    keys: [{ kid: 'dev-signing-1', private_key: await generateDevKey(), state: 'active' }],
    resource_servers: [...options.resourceServers],
  };
}
