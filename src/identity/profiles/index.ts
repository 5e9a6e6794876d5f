import { githubActionsProfile } from './github-actions.js';
import { kubernetesProfile } from './kubernetes.js';
import { oidcProfile } from './oidc.js';
import type { IssuerProfile, ProfileKind } from './profile.js';
import { spiffeProfile } from './spiffe.js';

export type { IssuerProfile, ProfileKind } from './profile.js';

/** Keyed by every profile the config accepts, so adding one to the schema breaks the build here. */
export const ISSUER_PROFILES: Record<ProfileKind, IssuerProfile> = {
  oidc: oidcProfile,
  kubernetes: kubernetesProfile,
  'github-actions': githubActionsProfile,
  spiffe: spiffeProfile,
};

export function profileFor(kind: ProfileKind): IssuerProfile {
  return ISSUER_PROFILES[kind];
}
