import { randomBytes, randomFillSync } from 'node:crypto';

/** Bytes drawn from the operating system's CSPRNG at a time. */
const POOL_BYTES = 4096;

const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let offset = POOL_BYTES;

/**
 * `n` bytes from the CSPRNG, as `crypto.randomBytes(n)` gives, taken from a pool refilled
 * 4 KiB at a time: one draw serves the ids, claim tokens and IVs of about a hundred
 * issuances instead of one job each. Every byte is handed out once, as a copy, and the pool
 * is never exposed.
 */
export function poolRandomBytes(n: number): Buffer {
  if (n > POOL_BYTES) return randomBytes(n);
  if (offset + n > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.allocUnsafe(n);
  pool.copy(out, 0, offset, offset + n);
  offset += n;
  return out;
}
