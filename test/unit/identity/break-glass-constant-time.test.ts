import * as nodeCrypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const { BreakGlassVerifier, generateBreakGlassToken } = await import(
  '../../../src/identity/break-glass.js'
);
const { FailureLimiter } = await import('../../../src/identity/failure-limiter.js');

describe('break-glass comparison', () => {
  it('compares against every entry in constant time, even after a match', () => {
    const tokens = [
      generateBreakGlassToken(),
      generateBreakGlassToken(),
      generateBreakGlassToken(),
    ];
    const entries = tokens.map((t, i) => ({
      name: `entry-${i}`,
      hash: t.hash,
      role: 'viewer' as const,
      expires_at: '2999-01-01T00:00:00Z',
    }));
    const now = () => 0;
    const verifier = new BreakGlassVerifier(
      entries,
      new FailureLimiter({ maxFailures: 10, windowMs: 60_000, maxSources: 10 }, now),
      now,
    );
    const spy = vi.mocked(nodeCrypto.timingSafeEqual);
    spy.mockClear();
    expect(verifier.verify(tokens[0]!.token, 's').name).toBe('entry-0');
    expect(spy).toHaveBeenCalledTimes(3);
  });
});
