import { createHash, randomBytes } from 'node:crypto';
import { isLeaseId } from '../../../src/lib/ids.js';
import { ProviderError } from '../../provider.js';

const LEASE_PREFIX = 'lse_';
const LEASE_RANDOM = '[0-9a-hjkmnp-tv-z]{26}';

/**
 * The ACL user of a lease: prefix + the lease id's 26 random characters. Derived, so a crash
 * before the handle was stored can still be cleaned up from the lease id, and the sweeper can
 * map a user back to its lease.
 */
export function userNameFor(prefix: string, leaseId: string): string {
  if (!isLeaseId(leaseId)) {
    throw new ProviderError('provider_rejected', 'lease id has an unexpected format', false);
  }
  return `${prefix}${leaseId.slice(LEASE_PREFIX.length)}`;
}

/** The lease id behind a user of this prefix, or `undefined` when the user is not ours. */
export function leaseIdOfUser(prefix: string, user: string): string | undefined {
  const pattern = new RegExp(`^${prefix.replace(/[^A-Za-z0-9]/g, '\\$&')}${LEASE_RANDOM}$`);
  if (!pattern.test(user)) return undefined;
  return `${LEASE_PREFIX}${user.slice(prefix.length)}`;
}

/**
 * Whether `user` is a user a lease of this id could have: any valid prefix followed by the
 * lease's own random part. A handle can then only ever name its own lease's user (never
 * `default` or the admin), even after the configured prefix changed.
 */
export function isUserOfLease(user: string, leaseId: string): boolean {
  if (!isLeaseId(leaseId)) return false;
  const random = leaseId.slice(LEASE_PREFIX.length);
  return user.endsWith(random) && /^[A-Za-z0-9_:-]{1,32}$/.test(user.slice(0, -random.length));
}

/** 32 random bytes (256 bits), base64url: no whitespace, so it is one ACL argument. */
export function newPassword(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The `#<sha256>` form of a password. `ACL SETUSER` accepts the hash, so the password itself
 * never travels to the node or appears in its SLOWLOG, MONITOR output or ACL LOG.
 */
export function passwordHashRule(password: string): string {
  return `#${createHash('sha256').update(password, 'utf8').digest('hex')}`;
}
