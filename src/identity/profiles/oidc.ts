import type { IssuerProfile } from './profile.js';

/** OpenID Connect Core 1.0 §2: an ID token always carries `iat`. */
export const oidcProfile: IssuerProfile = {
  requiredClaims: ['iat'],
  check: () => undefined,
};
