import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import { parseSpiffeId, trustDomainOf } from '../spiffe-id.js';
import type { IssuerProfile, ProfileContext } from './profile.js';

/** JWT-SVID §2: any header not described there MUST NOT be included. */
const HEADERS: ReadonlySet<string> = new Set(['alg', 'kid', 'typ']);

function checkHeader(header: ProtectedHeaderParameters): string | undefined {
  const extra = Object.keys(header).find((name) => !HEADERS.has(name));
  if (extra !== undefined) return `the "${extra}" header is not allowed in a JWT-SVID`;
  // §2.3: typ is optional; when set it is JWT or JOSE.
  if (header.typ !== undefined && header.typ !== 'JWT' && header.typ !== 'JOSE') {
    return 'the "typ" header of a JWT-SVID must be JWT or JOSE';
  }
  return undefined;
}

/** JWT-SVID §3.1: `sub` is the SPIFFE ID, and it must belong to the bundle's trust domain. */
function check(claims: JWTPayload, context: ProfileContext): string | undefined {
  const id = parseSpiffeId(String(claims.sub));
  if (typeof id === 'string') return `the subject is not a SPIFFE ID: ${id}`;
  if (id.path === '') return 'the subject is a bare trust domain, not a workload';
  if (id.trustDomain !== trustDomainOf(context.iss)) {
    return 'the subject belongs to another trust domain';
  }
  return undefined;
}

/**
 * JWT-SVIDs. Keys come from the trust domain's bundle, chosen by the trust domain of `sub`
 * rather than by `iss` (which the spec does not require), and exactly one audience is
 * accepted (§6.2: a token with several can be replayed by any of them to the others).
 */
export const spiffeProfile: IssuerProfile = {
  kind: 'spiffe',
  requiredClaims: ['aud'],
  checksIss: false,
  singleAudience: true,
  checkHeader,
  check,
};
