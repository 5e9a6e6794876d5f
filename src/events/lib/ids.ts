import { BASE32_ALPHABET as ALPHABET, randomBase32 } from '../../lib/ids.js';

/**
 * Event ids for one chain: `evt_` + 16 random base32 characters (80 bits, drawn once) + a
 * 10-character base32 counter, so 26 characters as before without a `randomBytes` call per
 * event. Ids only have to be unique and say what they are; they are not secrets, and within
 * an instance they sort in emission order.
 */
export function eventIdSource(): () => string {
  // 10 bytes: 16 characters, 80 bits.
  const prefix = `evt_${randomBase32(10)}`;
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
  return `ins_${randomBase32(10)}`;
}
