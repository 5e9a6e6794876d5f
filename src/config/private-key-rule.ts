import type { PrivateKeyRule, ProviderKind } from '../../providers/provider.js';
import { providerFactories } from '../../providers/registry.js';

/** The key type a target's provider demands of its `private_key`, if it demands one. */
export function privateKeyRule(provider: unknown): PrivateKeyRule | undefined {
  if (typeof provider !== 'string' || !Object.hasOwn(providerFactories, provider)) return undefined;
  return providerFactories[provider as ProviderKind].privateKey;
}
