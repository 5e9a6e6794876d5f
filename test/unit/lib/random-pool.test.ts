import { describe, expect, it } from 'vitest';
import { poolRandomBytes } from '../../../src/lib/random-pool.js';

describe('pooled random bytes', () => {
  it('hands out each draw once, across many pool refills', () => {
    const seen = new Set<string>();
    // 20,000 × 16 bytes is about 78 refills of the 4 KiB pool.
    for (let i = 0; i < 20_000; i += 1) {
      const bytes = poolRandomBytes(16);
      expect(bytes.length).toBe(16);
      seen.add(bytes.toString('hex'));
    }
    expect(seen.size).toBe(20_000);
  });

  it('gives a copy: changing one result changes no other', () => {
    const a = poolRandomBytes(12);
    const kept = Buffer.from(a);
    const b = poolRandomBytes(12);
    a.fill(0);
    expect(b.equals(Buffer.alloc(12))).toBe(false);
    expect(kept.equals(a)).toBe(false);
  });

  it('serves requests larger than the pool and of every size up to it', () => {
    expect(poolRandomBytes(10_000).length).toBe(10_000);
    for (const n of [1, 2, 12, 4095, 4096]) expect(poolRandomBytes(n).length).toBe(n);
  });

  it('looks uniform: every byte value turns up', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 200; i += 1)
      for (const byte of poolRandomBytes(256)) counts[byte] = (counts[byte] ?? 0) + 1;
    // 51,200 bytes, 200 expected per value: an all-zero or stuck pool would fail.
    expect(Math.min(...counts)).toBeGreaterThan(100);
    expect(Math.max(...counts)).toBeLessThan(320);
  });
});
