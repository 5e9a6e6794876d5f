import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { JitBrokerClient, JitBrokerError, type RetryOptions } from '../../../src/client/index.js';
import { parseRetryAfter } from '../../../src/client/lib/retry-after.js';
import { fakeFetch, issued, json, problem, REQUEST } from '../../helpers/fake-fetch.js';

const client = (fetch: typeof globalThis.fetch, retry: RetryOptions = {}) =>
  new JitBrokerClient({ url: 'http://127.0.0.1:8080', token: () => 'a.b.c', fetch, retry });

describe('retries', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries a 503 after its Retry-After', async () => {
    const f = fakeFetch(
      problem(503, 'store_unavailable', {}, { 'retry-after': '2' }),
      json(201, issued()),
    );
    const pending = client(f.fetch).getCredential(REQUEST);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(f.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    const lease = await pending;
    expect(lease.leaseId).toBe('lse_01');
    expect(f.calls).toHaveLength(2);
  });

  it('retries a 429 whose Retry-After is an HTTP date', async () => {
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const f = fakeFetch(
      problem(429, 'rate_limited', {}, { 'retry-after': 'Tue, 01 Jan 2030 00:00:01 GMT' }),
      json(201, issued()),
    );
    const pending = client(f.fetch).getCredential(REQUEST);
    await vi.advanceTimersByTimeAsync(999);
    expect(f.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(pending).resolves.toMatchObject({ leaseId: 'lse_01' });
  });

  it('backs off without Retry-After, and gives up after maxAttempts with the last error', async () => {
    const f = fakeFetch(
      problem(503, 'audit_unavailable'),
      problem(503, 'audit_unavailable'),
      problem(503, 'store_unavailable', {}, { 'retry-after': '1' }),
    );
    const pending = client(f.fetch, { baseDelayMs: 100 }).getCredential(REQUEST);
    const settled = pending.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(99);
    expect(f.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(f.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(199);
    expect(f.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    const e = (await settled) as JitBrokerError;
    expect(f.calls).toHaveLength(3);
    expect(e).toBeInstanceOf(JitBrokerError);
    expect(e.code).toBe('store_unavailable');
    expect(e.retryAfter).toBe(1);
  });

  it('does not wait longer than maxDelayMs: the error carries retryAfter instead', async () => {
    const f = fakeFetch(problem(429, 'lease_cap_reached', {}, { 'retry-after': '60' }));
    const e = (await client(f.fetch, { maxDelayMs: 5_000 })
      .getCredential(REQUEST)
      .catch((err: unknown) => err)) as JitBrokerError;
    expect(e).toBeInstanceOf(JitBrokerError);
    expect(f.calls).toHaveLength(1);
    expect(e.code).toBe('lease_cap_reached');
    expect(e.status).toBe(429);
    expect(e.retryAfter).toBe(60);
  });

  it('maxAttempts 1 disables retries', async () => {
    const f = fakeFetch(problem(503, 'store_unavailable', {}, { 'retry-after': '1' }));
    await expect(client(f.fetch, { maxAttempts: 1 }).getCredential(REQUEST)).rejects.toMatchObject({
      status: 503,
    });
    expect(f.calls).toHaveLength(1);
  });

  it.each([
    [401, 'invalid_token'],
    [403, 'intent_not_allowed'],
    [404, 'target_unknown'],
    [422, 'invalid_request'],
    [502, 'provider_failed'],
  ])('does not retry %i %s', async (status, code) => {
    const f = fakeFetch(problem(status, code, {}, { 'retry-after': '1' }), json(201, issued()));
    await expect(client(f.fetch).getCredential(REQUEST)).rejects.toMatchObject({ status, code });
    expect(f.calls).toHaveLength(1);
  });

  it('asks the token source again on each attempt', async () => {
    const token = vi.fn(() => 'a.b.c');
    const f = fakeFetch(
      problem(503, 'store_unavailable', {}, { 'retry-after': '1' }),
      json(201, issued()),
    );
    const c = new JitBrokerClient({ url: 'http://127.0.0.1:8080', token, fetch: f.fetch });
    const pending = c.getCredential(REQUEST);
    await vi.advanceTimersByTimeAsync(1_000);
    await pending;
    expect(token).toHaveBeenCalledTimes(2);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  it.each([
    [null, undefined],
    ['3', 3],
    [' 0 ', 0],
    ['Tue, 01 Jan 2030 00:00:10 GMT', 10],
    ['Mon, 31 Dec 2029 23:59:00 GMT', 0],
    ['soon', undefined],
    ['-1', undefined],
  ])('%s → %s', (header, seconds) => {
    expect(parseRetryAfter(header, now)).toBe(seconds);
  });
});
