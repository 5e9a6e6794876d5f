import { createHash, randomBytes } from 'node:crypto';
import { isLeaseId, LEASE_SUFFIX_LENGTH } from '../../../src/lib/ids.js';
import { leaseSuffix } from '../../lib/lease-account.js';

/** MySQL and MariaDB both cap user names at 32 characters. */
export const MAX_USER_LENGTH = 32;
/** A prefix leaves room for the whole id suffix, so the name maps back to its lease: 4 characters. */
export const MAX_PREFIX_LENGTH = MAX_USER_LENGTH - LEASE_SUFFIX_LENGTH;

/**
 * Whether `user` is an account a lease of this id could have: any valid prefix followed by the
 * lease's own id suffix. A handle can then only ever name its own lease's account (never
 * `root`), even after the configured prefix changed.
 */
export function isAccountOfLease(user: string, leaseId: string): boolean {
  if (!isLeaseId(leaseId)) return false;
  const suffix = leaseSuffix(leaseId);
  const prefix = user.slice(0, -LEASE_SUFFIX_LENGTH);
  return (
    user.length <= MAX_USER_LENGTH &&
    user.endsWith(suffix) &&
    new RegExp(`^[a-z][a-z0-9_]{0,${MAX_PREFIX_LENGTH - 1}}$`).test(prefix)
  );
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
