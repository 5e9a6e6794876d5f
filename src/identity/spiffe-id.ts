/**
 * SPIFFE ID rules (SPIFFE-ID.md §2): `spiffe://<trust domain>/<path>`, the trust domain in
 * lowercase letters, digits, `.`, `-` and `_` (no port, no userinfo), path segments in
 * letters, digits, `.`, `-` and `_`, none empty, `.` or `..`, no trailing `/`, no query or
 * fragment, at most 2048 bytes in all and 255 for the trust domain.
 */

const PREFIX = 'spiffe://';
const MAX_ID_BYTES = 2048;
const MAX_TRUST_DOMAIN_BYTES = 255;
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

export interface SpiffeId {
  readonly trustDomain: string;
  readonly path: string;
}

/** Returns the parsed ID, or why the text is not a SPIFFE ID. */
export function parseSpiffeId(text: string): SpiffeId | string {
  if (text.length > MAX_ID_BYTES) return `longer than ${MAX_ID_BYTES} bytes`;
  if (!text.startsWith(PREFIX)) return 'the scheme is not spiffe://';
  const rest = text.slice(PREFIX.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const problem = trustDomainProblem(trustDomain);
  if (problem !== undefined) return problem;
  const path = slash === -1 ? '' : rest.slice(slash);
  if (path === '') return { trustDomain, path };
  const segments = path.slice(1).split('/');
  for (const segment of segments) {
    if (segment === '') return 'the path has an empty segment or a trailing "/"';
    if (segment === '.' || segment === '..') return 'the path has a "." or ".." segment';
    if (!SEGMENT.test(segment)) {
      return 'the path has a character outside A-Z a-z 0-9 . - _ (or a query or fragment)';
    }
  }
  return { trustDomain, path };
}

export function trustDomainProblem(trustDomain: string): string | undefined {
  if (trustDomain === '') return 'the trust domain is empty';
  if (trustDomain.length > MAX_TRUST_DOMAIN_BYTES) {
    return `the trust domain is longer than ${MAX_TRUST_DOMAIN_BYTES} bytes`;
  }
  if (!TRUST_DOMAIN.test(trustDomain)) {
    return 'the trust domain has a character outside a-z 0-9 . - _ (or a port or userinfo)';
  }
  return undefined;
}

/** A trust domain written as `spiffe://<td>` in config, with no path. */
export function trustDomainOf(configured: string): string {
  const parsed = parseSpiffeId(configured);
  if (typeof parsed === 'string' || parsed.path !== '') {
    throw new TypeError(
      `a spiffe issuer must be spiffe://<trust domain>: ${typeof parsed === 'string' ? parsed : 'it has a path'}`,
    );
  }
  return parsed.trustDomain;
}
