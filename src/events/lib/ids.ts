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

/**
 * Event ids for one chain: `evt_` + 16 random base32 characters (80 bits, drawn once) + a
 * 10-character base32 counter, so 26 characters as before without a `randomBytes` call per
 * event. Ids only have to be unique and say what they are; they are not secrets, and within
 * an instance they sort in emission order.
 */
export function eventIdSource(): () => string {
  const prefix = `evt_${randomBase32(16)}`;
  let counter = 0;
  return () => {
    if (counter > MAX_COUNTER) throw new RangeError('event id counter exhausted');
    let suffix = '';
    let rest = counter;
    for (let digit = 0; digit < COUNTER_DIGITS; digit += 1) {
      suffix = ALPHABET.charAt(rest % 32) + suffix;
      rest = Math.floor(rest / 32);
    }
    counter += 1;
    return prefix + suffix;
  };
}

const COUNTER_DIGITS = 10;
const MAX_COUNTER = 32 ** COUNTER_DIGITS - 1;

export function newInstanceId(): string {
  return `ins_${randomBase32(16)}`;
}
