import { anyHeader, type IssuerProfile } from './profile.js';

/** OpenID Connect Core 1.0 §2: an ID token always carries `iat`. */
export const oidcProfile: IssuerProfile = {
  kind: 'oidc',
  requiredClaims: ['iat'],
  checksIss: true,
  singleAudience: false,
  checkHeader: anyHeader,
  check: () => undefined,
};
