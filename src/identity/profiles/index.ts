import type { IssuerConfig } from '../../config/schema.js';
import { oidcProfile } from './oidc.js';
import type { IssuerProfile } from './profile.js';

export type { IssuerProfile } from './profile.js';

/**
 * Keyed by every profile the config accepts, so adding one to the schema breaks the build
 * here. `undefined` marks a profile not implemented yet: an issuer using it is refused at
 * start rather than verified with rules written for another kind of token.
 */
export const ISSUER_PROFILES: Record<IssuerConfig['profile'], IssuerProfile | undefined> = {
  oidc: oidcProfile,
  kubernetes: undefined,
  'github-actions': undefined,
  spiffe: undefined,
};

export function profileFor(kind: IssuerConfig['profile']): IssuerProfile {
  const profile = ISSUER_PROFILES[kind];
  if (profile === undefined) throw new TypeError(`issuer profile "${kind}" is not supported yet`);
  return profile;
}
