import { describe, expect, it } from 'vitest';
import { RevocationCache } from '../../src/mcp/revocation-cache.js';

/** A promise the test settles by hand: an introspection that is still on the wire. */
function pending(): { promise: Promise<boolean>; resolve: (active: boolean) => void } {
  let resolve: (active: boolean) => void = () => {};
  const promise = new Promise<boolean>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('the guard cache joins only an introspection young enough to answer', () => {
  it('a request past the bound does not take the answer of an introspection sent before it', async () => {
    let now = 0;
    const cache = new RevocationCache(1_000, 10, () => now);
    const slow = pending();
    const calls: string[] = [];
    // An introspection sent at t=0 that the broker answers from the state it read then
    // (the token live), but which reaches the guard only much later.
    const first = cache.isActive('h1', 60_000, () => {
      calls.push('first');
      return slow.promise;
    });
    // The token is revoked; a request 5 s later, well past the 1 s bound, must ask again.
    now = 5_000;
    const second = cache.isActive('h1', 60_000, async () => {
      calls.push('second');
      return false;
    });
    slow.resolve(true);
    expect(await first).toBe(true);
    expect(await second).toBe(false);
    expect(calls).toEqual(['first', 'second']);
  });

  it('with a TTL of 0 concurrent requests do not share one answer either', async () => {
    const cache = new RevocationCache(0, 10, () => 0);
    const slow = pending();
    let asked = 0;
    const first = cache.isActive('h1', 60_000, () => {
      asked++;
      return slow.promise;
    });
    const second = cache.isActive('h1', 60_000, async () => {
      asked++;
      return false;
    });
    slow.resolve(true);
    expect(await first).toBe(true);
    expect(await second).toBe(false);
    expect(asked).toBe(2);
  });

  it('requests within the bound still share one introspection', async () => {
    let now = 0;
    const cache = new RevocationCache(1_000, 10, () => now);
    const slow = pending();
    let asked = 0;
    const introspect = () => {
      asked++;
      return slow.promise;
    };
    const first = cache.isActive('h1', 60_000, introspect);
    now = 999;
    const second = cache.isActive('h1', 60_000, introspect);
    slow.resolve(true);
    expect([await first, await second]).toEqual([true, true]);
    expect(asked).toBe(1);
  });
});
