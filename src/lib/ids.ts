import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** Lowercase Crockford base32 of `bytes` random bytes (16 bytes → 26 chars, 128 bits). */
export function randomBase32(bytes = 16): string {
  const buf = randomBytes(bytes);
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const byte of buf) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

/**
 * Lease ids carry 128 random bits and no time or sequence: they appear in CloudTrail,
 * `pg_roles` and JWT `jti`s, so knowing one must authorise nothing and predict nothing.
 */
export function newLeaseId(): string {
  return `lse_${randomBase32(16)}`;
}

export const LEASE_ID_PATTERN = /^lse_[0-9a-hjkmnp-tv-z]{26}$/;

export function isLeaseId(value: string): boolean {
  return LEASE_ID_PATTERN.test(value);
}

export function newRequestId(): string {
  return `req_${randomBase32(10)}`;
}
