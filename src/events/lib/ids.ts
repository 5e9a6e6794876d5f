import { randomBytes } from 'node:crypto';

// Crockford's alphabet, lower-cased: no i, l, o or u, so a pasted id cannot be misread.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** `length` characters of base32 drawn from 5 random bits each. */
export function randomBase32(length: number): string {
  const bytes = randomBytes(Math.ceil((length * 5) / 8));
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      bits -= 5;
      out += ALPHABET[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}

export function newEventId(): string {
  return `evt_${randomBase32(26)}`;
}

export function newInstanceId(): string {
  return `ins_${randomBase32(16)}`;
}
