import { describe, expect, it } from 'vitest';
import { LeaseKeys } from '../../../src/leases/keys.js';
import { isLeaseId, newLeaseId, slotTag, slotTagOf } from '../../../src/lib/ids.js';

describe('lease ids', () => {
  it('carry the workload slot tag, then 26 random characters', () => {
    const id = newLeaseId('agent-a');
    expect(id).toMatch(/^lse_[0-9a-hjkmnp-tv-z]{28}$/);
    expect(isLeaseId(id)).toBe(true);
    expect(slotTagOf(id)).toBe(slotTag('agent-a'));
    expect(id.slice(4, 6)).toBe(slotTag('agent-a'));
  });

  it('draw 128 fresh bits each time: no repeats, and every bit position varies', () => {
    const ids = Array.from({ length: 5_000 }, () => newLeaseId('agent-a'));
    expect(new Set(ids).size).toBe(ids.length);
    // Each of the 26 random characters takes many values across the sample (no fixed part
    // besides the tag; the last character holds 3 bits, so at most 8 values).
    for (let i = 6; i < 32; i += 1) {
      const seen = new Set(ids.map((id) => id[i]));
      expect(seen.size, `character ${i}`).toBeGreaterThanOrEqual(i === 31 ? 8 : 32);
    }
  });

  it('derive the tag from the workload alone, spread over the 1,024 values', () => {
    expect(slotTag('agent-a')).toBe(slotTag('agent-a'));
    const tags = new Set(Array.from({ length: 4_000 }, (_, i) => slotTag(`w-${i}`)));
    expect(tags.size).toBeGreaterThan(950);
    for (const tag of tags) expect(tag).toMatch(/^[0-9a-hjkmnp-tv-z]{2}$/);
  });

  it('reject other shapes', () => {
    for (const bad of [
      'lse_',
      `lse_${'a'.repeat(26)}`,
      `lse_${'a'.repeat(29)}`,
      `lse_${'u'.repeat(28)}`,
    ]) {
      expect(isLeaseId(bad), bad).toBe(false);
    }
  });
});

describe('key layout', () => {
  const keys = new LeaseKeys('p');

  it("puts a lease on its workload's slot, found from the id alone", () => {
    const id = newLeaseId('agent-a');
    const tag = `{${slotTag('agent-a')}}`;
    expect(keys.lease(id)).toBe(`p:${tag}:${id}`);
    for (const key of [
      keys.due('agent-a'),
      keys.done('agent-a'),
      keys.meta('agent-a'),
      keys.task('agent-a', 't:1'),
    ]) {
      expect(key.startsWith(`p:${tag}:`), key).toBe(true);
    }
  });

  it('never gives two workloads or tasks the same key', () => {
    // Workload ids have no ":", so "a" with task "b:c" and "a:b" cannot meet.
    expect(keys.task('agent-a', 'x:meta')).not.toBe(keys.meta('agent-a'));
    expect(new Set([keys.due('a'), keys.due('b'), keys.done('a'), keys.meta('a')]).size).toBe(4);
    // The layout relies on it, whatever let such a name through.
    for (const bad of ['a:b', 'a{b', 'a}b']) {
      expect(() => keys.task(bad, 't'), bad).toThrow(TypeError);
    }
  });
});
