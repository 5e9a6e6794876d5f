import {
  LEASE_ID_PATTERN,
  LEASE_PREFIX,
  LEASE_SUFFIX_LENGTH,
  LEASE_SUFFIX_SOURCE,
} from '../../../src/lib/ids.js';

/**
 * A role name the broker will put into SQL: lowercase, unquoted-identifier shape, at most
 * PostgreSQL's NAMEDATALEN - 1 (63 bytes). Anything else is refused before SQL is built, so
 * escaping is a second wall rather than the only one.
 */
export const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

const LEASE_SUFFIX = new RegExp(`^${LEASE_SUFFIX_SOURCE}$`);

export { LEASE_SUFFIX_LENGTH };

/** Longest prefix that still leaves room for the lease suffix within 63 characters. */
export const MAX_ROLE_PREFIX_LENGTH = 63 - LEASE_SUFFIX_LENGTH;

/**
 * The login role of a lease. It is derived from the lease id alone so a mint that crashed
 * before its handle was stored can still be found and dropped.
 */
export function loginRoleFor(prefix: string, leaseId: string): string {
  if (!LEASE_ID_PATTERN.test(leaseId)) {
    throw new TypeError('not a lease id');
  }
  return `${prefix}${leaseId.slice('lse_'.length)}`;
}

/** The lease id a login role belongs to, or `null` when the name is not one the broker makes. */
export function leaseIdOfLoginRole(prefix: string, role: string): string | null {
  if (!role.startsWith(prefix)) return null;
  const suffix = role.slice(prefix.length);
  return LEASE_SUFFIX.test(suffix) ? `${LEASE_PREFIX}${suffix}` : null;
}
