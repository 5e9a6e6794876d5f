import { createHash, randomBytes } from 'node:crypto';
import { isLeaseId } from '../../../src/lib/ids.js';
import { leaseSuffix } from '../../lib/lease-account.js';

/**
 * Whether `user` is a user a lease of this id could have: any valid prefix followed by the
 * lease's own id suffix. A handle can then only ever name its own lease's user (never
 * `default` or the admin), even after the configured prefix changed.
 */
export function isUserOfLease(user: string, leaseId: string): boolean {
  if (!isLeaseId(leaseId)) return false;
  const suffix = leaseSuffix(leaseId);
  return user.endsWith(suffix) && /^[A-Za-z0-9_:-]{1,32}$/.test(user.slice(0, -suffix.length));
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
