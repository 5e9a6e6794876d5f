import type { JWTPayload } from 'jose';
import { anyHeader, type IssuerProfile, isRecord, nonEmptyString } from './profile.js';

const SUBJECT_PREFIX = 'system:serviceaccount:';

/**
 * Projected service-account tokens (TokenRequest API). Their private claims live under
 * `kubernetes.io`; the subject must name exactly the namespace and service account those
 * claims do, so neither can be dressed up by an issuer that signs other tokens too. Legacy
 * secret-based tokens (flat `kubernetes.io/serviceaccount/*` claims, no `exp`) never pass.
 */
function check(claims: JWTPayload): string | undefined {
  const k8s = claims['kubernetes.io'];
  if (!isRecord(k8s)) return 'the "kubernetes.io" claim must be an object';
  const namespace = k8s.namespace;
  const account = k8s.serviceaccount;
  if (!nonEmptyString(namespace)) return 'the "kubernetes.io" claim names no namespace';
  if (!isRecord(account) || !nonEmptyString(account.name) || !nonEmptyString(account.uid)) {
    return 'the "kubernetes.io" claim names no service account (name and uid)';
  }
  for (const bound of ['pod', 'node', 'secret'] as const) {
    const object = k8s[bound];
    if (object === undefined) continue;
    if (!isRecord(object) || !nonEmptyString(object.name) || !nonEmptyString(object.uid)) {
      return `the "kubernetes.io" ${bound} must have a name and uid`;
    }
  }
  if (claims.sub !== `${SUBJECT_PREFIX}${namespace}:${account.name}`) {
    return 'the subject does not match the namespace and service account of the token';
  }
  return undefined;
}

export const kubernetesProfile: IssuerProfile = {
  kind: 'kubernetes',
  requiredClaims: ['iat', 'kubernetes.io'],
  checksIss: true,
  singleAudience: false,
  checkHeader: anyHeader,
  check,
};
