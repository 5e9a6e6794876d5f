import { beforeEach, describe, expect, it } from 'vitest';
import { brokerWithKey, type FakeBroker, mcpRequest, type SigningKey } from './support.js';

let broker: FakeBroker;
let key: SigningKey;

beforeEach(async () => {
  ({ broker, key } = await brokerWithKey());
});

describe('the revocation cache', () => {
  it('a token revoked at the broker is refused once the cache bound has passed', async () => {
    const guard = broker.guard({ revocationCacheTtlMs: 2_000 });
    const token = await broker.token(key);
    expect((await guard.check(mcpRequest(token))).kind).toBe('caller');
    broker.revoked.add('lse_test1');

    // Within the bound the earlier answer stands (the documented window)…
    broker.clock.ms += 1_999;
    expect((await guard.check(mcpRequest(token))).kind).toBe('caller');
    expect(broker.introspections).toBe(1);

    // …and not one millisecond later.
    broker.clock.ms += 1;
    const outcome = await guard.check(mcpRequest(token));
    expect(outcome.kind === 'response' && outcome.response.status).toBe(401);
    expect(broker.introspections).toBe(2);
  });

  it('with a TTL of 0 every request asks the broker', async () => {
    const guard = broker.guard({ revocationCacheTtlMs: 0 });
    const token = await broker.token(key);
    expect((await guard.check(mcpRequest(token))).kind).toBe('caller');
    broker.revoked.add('lse_test1');
    expect((await guard.check(mcpRequest(token))).kind).toBe('response');
  });

  it('a cached answer does not keep an expired token alive', async () => {
    const guard = broker.guard({ revocationCacheTtlMs: 30_000, clockToleranceSeconds: 0 });
    const token = await broker.token(key, { exp: broker.clock.seconds + 2 });
    expect((await guard.check(mcpRequest(token))).kind).toBe('caller');
    broker.clock.ms += 3_000;
    const outcome = await guard.check(mcpRequest(token));
    expect(outcome.kind === 'response' && outcome.response.status).toBe(401);
  });

  it('holds at most revocationCacheSize answers: the oldest is asked again', async () => {
    const guard = broker.guard({ revocationCacheSize: 2 });
    const [a, b, c] = [await broker.token(key), await broker.token(key), await broker.token(key)];
    for (const token of [a, b, c]) await guard.check(mcpRequest(token));
    expect(broker.introspections).toBe(3);
    await guard.check(mcpRequest(c));
    expect(broker.introspections).toBe(3);
    // `a` was pushed out by `c`: a revocation of `a` is seen at once.
    broker.revoked.add('lse_test1');
    const outcome = await guard.check(mcpRequest(a));
    expect(outcome.kind === 'response' && outcome.response.status).toBe(401);
    expect(broker.introspections).toBe(4);
  });

  it('concurrent requests with one token share one introspection', async () => {
    const guard = broker.guard();
    const token = await broker.token(key);
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, () => guard.check(mcpRequest(token))),
    );
    expect(outcomes.map((o) => o.kind)).toEqual(Array(5).fill('caller'));
    expect(broker.introspections).toBe(1);
  });

  it('a failed introspection is not cached', async () => {
    const guard = broker.guard();
    const token = await broker.token(key);
    broker.failIntrospection = true;
    expect((await guard.check(mcpRequest(token))).kind).toBe('response');
    broker.failIntrospection = false;
    expect((await guard.check(mcpRequest(token))).kind).toBe('caller');
  });
});

describe('guard options', () => {
  const bad: [string, Record<string, unknown>][] = [
    ['a revocation TTL above 30 s', { revocationCacheTtlMs: 30_001 }],
    ['a cache above 100 000 entries', { revocationCacheSize: 100_001 }],
    ['a negative TTL', { revocationCacheTtlMs: -1 }],
    ['a resource with a fragment', { resource: 'https://mcp.test.example/mcp#x' }],
    ['a resource with a query', { resource: 'https://mcp.test.example/mcp?a=1' }],
    ['a resource that is not http(s)', { resource: 'ftp://mcp.test.example/mcp' }],
    ['an allowed origin with a path', { allowedOrigins: ['https://app.test.example/x'] }],
    ['an algorithm the broker never signs with', { algorithms: ['HS256'] }],
    ['no algorithm', { algorithms: [] }],
    ['a scope with a space', { requiredScopes: ['a b'] }],
  ];
  it.each(bad)('refuses %s with a TypeError', (_name, options) => {
    expect(() => broker.guard(options)).toThrow(TypeError);
  });
});
