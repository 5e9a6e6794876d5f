import { isLeaseId, LEASE_PREFIX, LEASE_SUFFIX_SOURCE } from '../../src/lib/ids.js';
import { ProviderError } from '../provider.js';

/**
 * The account (MySQL user, Redis ACL user) of a lease: prefix + the lease id's 28 characters
 * after `lse_`. The name is derived, never stored elsewhere, so a crash before the lease's
 * handle was written can still be cleaned up from the lease id alone, and the sweeper can map
 * a name back to its lease.
 */
export function userNameFor(prefix: string, leaseId: string): string {
  if (!isLeaseId(leaseId)) {
    throw new ProviderError('provider_rejected', 'lease id has an unexpected format', false);
  }
  return `${prefix}${leaseSuffix(leaseId)}`;
}

/** The lease id behind an account name of this prefix, or `undefined` when it is not ours. */
export function leaseIdOfUser(prefix: string, user: string): string | undefined {
  if (!accountPattern(prefix).test(user)) return undefined;
  return `${LEASE_PREFIX}${user.slice(prefix.length)}`;
}

function accountPattern(prefix: string): RegExp {
  return new RegExp(`^${prefix.replace(/[^A-Za-z0-9]/g, '\\$&')}${LEASE_SUFFIX_SOURCE}$`);
}

/** The lease id without `lse_`; callers check `isLeaseId` first. */
export function leaseSuffix(leaseId: string): string {
  return leaseId.slice(LEASE_PREFIX.length);
}
