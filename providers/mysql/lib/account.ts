import { createHash, randomBytes } from 'node:crypto';
import { isLeaseId } from '../../../src/lib/ids.js';
import { ProviderError } from '../../provider.js';

/** MySQL and MariaDB both cap user names at 32 characters. */
export const MAX_USER_LENGTH = 32;
/** The random part of a lease id: 26 base32 characters, 128 bits. */
const LEASE_RANDOM_LENGTH = 26;
/** A prefix leaves room for the whole random part, so the name maps back to its lease. */
export const MAX_PREFIX_LENGTH = MAX_USER_LENGTH - LEASE_RANDOM_LENGTH;

const LEASE_PREFIX = 'lse_';
const ACCOUNT_RANDOM = '[0-9a-hjkmnp-tv-z]{26}';

/**
 * The account name of a lease: prefix + the lease id's 26 random characters. The name is
 * derived, never stored elsewhere, so a crash before the lease's handle was written can still
 * be cleaned up from the lease id alone, and the sweeper can map a name back to its lease.
 */
export function userNameFor(prefix: string, leaseId: string): string {
  if (!isLeaseId(leaseId)) {
    throw new ProviderError('provider_rejected', 'lease id has an unexpected format', false);
  }
  return `${prefix}${leaseId.slice(LEASE_PREFIX.length)}`;
}

/** The lease id behind an account name of this prefix, or `undefined` when it is not ours. */
export function leaseIdOfUser(prefix: string, user: string): string | undefined {
  if (!accountPattern(prefix).test(user)) return undefined;
  return `${LEASE_PREFIX}${user.slice(prefix.length)}`;
}

/**
 * Whether `user` is an account a lease of this id could have: any valid prefix followed by the
 * lease's own random part. A handle can then only ever name its own lease's account (never
 * `root`), even after the configured prefix changed.
 */
export function isAccountOfLease(user: string, leaseId: string): boolean {
  if (!isLeaseId(leaseId)) return false;
  const random = leaseId.slice(LEASE_PREFIX.length);
  const prefix = user.slice(0, -LEASE_RANDOM_LENGTH);
  return (
    user.length <= MAX_USER_LENGTH &&
    user.endsWith(random) &&
    new RegExp(`^[a-z][a-z0-9_]{0,${MAX_PREFIX_LENGTH - 1}}$`).test(prefix)
  );
}

export function accountPattern(prefix: string): RegExp {
  return new RegExp(`^${prefix.replace(/[^A-Za-z0-9]/g, '\\$&')}${ACCOUNT_RANDOM}$`);
}

/** 24 random bytes (192 bits), base64url: no quote or backslash can reach any statement. */
export function newPassword(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * MariaDB's `mysql_native_password` hash, `*` + upper-case hex of SHA1(SHA1(password)). Sending
 * the hash (`IDENTIFIED BY PASSWORD`) keeps the password itself out of the general log, the
 * binary log and the processlist.
 */
export function nativePasswordHash(password: string): string {
  const stage1 = createHash('sha1').update(password, 'utf8').digest();
  return `*${createHash('sha1').update(stage1).digest('hex').toUpperCase()}`;
}
