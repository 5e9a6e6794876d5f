import type { Resource } from '../../oauth/resources.js';
import { OAuthError } from './errors.js';

/** The space-separated tokens of a `scope` string (RFC 6749 §3.3). */
export function scopeTokens(text: string): string[] {
  return text.split(' ').filter((token) => token !== '');
}

/**
 * A resource that lists its scopes takes no other: RFC 6749 §3.3 lets the server refuse a
 * scope it does not know with `invalid_scope`. The policy's ceiling still applies after.
 */
export function checkResourceScopes(resource: Resource | undefined, tokens: readonly string[]) {
  const known = resource?.scopes;
  if (known === undefined) return;
  const unknown = tokens.find((token) => !known.includes(token));
  if (unknown !== undefined) {
    throw new OAuthError('invalid_scope', `"${unknown}" is not a scope of ${resource?.uri}`);
  }
}

/**
 * What an ID-JAG grants: the scopes both requested and asserted by the IdP (all the asserted
 * ones when the request names none). A grant that asserts no scope grants nothing.
 */
export function grantedScopes(
  requested: readonly string[] | undefined,
  asserted: readonly string[] | undefined,
): string[] {
  const granted =
    requested === undefined
      ? [...(asserted ?? [])]
      : requested.filter((token) => asserted?.includes(token) === true);
  if (granted.length === 0) {
    throw new OAuthError('invalid_scope', 'the grant allows none of the requested scopes');
  }
  return [...new Set(granted)];
}
