import { createHash } from 'node:crypto';
import { poolRandomBytes } from './random-pool.js';

/** Crockford's alphabet, lower-cased: no i, l, o or u, so a pasted id cannot be misread. */
export const BASE32_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
export const LEASE_PREFIX = 'lse_';

/** Lowercase Crockford base32 of `bytes` random bytes (16 bytes → 26 chars, 128 bits). */
export function randomBase32(bytes = 16): string {
  const buf = poolRandomBytes(bytes);
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const byte of buf) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32_ALPHABET[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32_ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

/**
 * The slot tag of a workload: 10 bits of SHA-256 of its id, as two base32 characters. Every
 * Redis key of the workload and every lease id it is issued carries it, so a lease is found
 * from its id alone on any Redis Cluster slot layout (1,024 tags spread over the slots).
 */
export function slotTag(workload: string): string {
  const digest = createHash('sha256').update(workload).digest();
  const bits = (((digest[0] as number) << 8) | (digest[1] as number)) >>> 6;
  return `${BASE32_ALPHABET[bits >>> 5]}${BASE32_ALPHABET[bits & 31]}`;
}

/** The slot tag a lease id carries (its two characters after `lse_`). */
export function slotTagOf(leaseId: string): string {
  return leaseId.slice(LEASE_PREFIX.length, LEASE_PREFIX.length + 2);
}

/**
 * `lse_` + the workload's slot tag (2 characters) + 128 random bits (26 characters). Nothing
 * in an id is time or sequence: ids appear in CloudTrail, `pg_roles` and JWT `jti`s, so
 * knowing one must authorise nothing and predict nothing. Without a workload (tests, tools)
 * the tag is random.
 */
export function newLeaseId(workload?: string): string {
  const tag = workload === undefined ? randomBase32(2).slice(0, 2) : slotTag(workload);
  return `${LEASE_PREFIX}${tag}${randomBase32(16)}`;
}

/** The characters after `lse_`: slot tag + random part. Account names embed all of them. */
export const LEASE_SUFFIX_LENGTH = 28;

/** The characters after `lse_` as a pattern source, for patterns that embed a lease id. */
export const LEASE_SUFFIX_SOURCE = `[0-9a-hjkmnp-tv-z]{${LEASE_SUFFIX_LENGTH}}`;

export const LEASE_ID_PATTERN = new RegExp(`^${LEASE_PREFIX}${LEASE_SUFFIX_SOURCE}$`);

export function isLeaseId(value: string): boolean {
  return LEASE_ID_PATTERN.test(value);
}

export function newRequestId(): string {
  return `req_${randomBase32(10)}`;
}
