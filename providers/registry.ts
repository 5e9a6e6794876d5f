import { jwtProviderFactory } from './jwt/index.js';
import type { ProviderFactory, ProviderKind } from './provider.js';

/** One factory per kind: adding a kind to `PROVIDER_KINDS` fails to compile until it is here. */
export const providerFactories: Record<ProviderKind, ProviderFactory> = {
  jwt: jwtProviderFactory,
};
