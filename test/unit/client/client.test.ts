import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  JitBrokerClient,
  type JitBrokerClientOptions,
  JitBrokerError,
  type JwtCredential,
  tokenFile,
} from '../../../src/client/index.js';
import {
  fakeFetch,
  issued,
  json,
  problem,
  REQUEST,
  WORKLOAD_TOKEN,
} from '../../helpers/fake-fetch.js';

function client(fetch: typeof globalThis.fetch, options: Partial<JitBrokerClientOptions> = {}) {
  return new JitBrokerClient({
    url: 'http://127.0.0.1:8080/',
    token: () => WORKLOAD_TOKEN,
    fetch,
    ...options,
  });
}

describe('JitBrokerClient requests', () => {
  it('getCredential posts the request as JSON and returns the lease with dates', async () => {
    const f = fakeFetch(json(201, issued()));
    const lease = await client(f.fetch).getCredential<JwtCredential>({ ...REQUEST, ttl: 120 });

    expect(f.calls).toHaveLength(1);
    const call = f.calls[0]!;
    expect(call.method).toBe('POST');
    expect(call.url).toBe('http://127.0.0.1:8080/v1/credentials');
    expect(call.headers.get('authorization')).toBe(`Bearer ${WORKLOAD_TOKEN}`);
    expect(call.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(call.body!)).toEqual({ ...REQUEST, ttl: 120 });
    expect(call.signal).toBeInstanceOf(AbortSignal);

    expect(lease.leaseId).toBe('lse_01');
    expect(lease.expiresAt).toEqual(new Date('2030-01-01T00:05:00.000Z'));
    expect(lease.issuedAt).toEqual(new Date('2030-01-01T00:00:00.000Z'));
    expect(lease.credential.token_type).toBe('Bearer');
    expect(lease.task).toEqual({ id: 'task-1', intent: 'triage' });
  });

  it('sends the configured user agent', async () => {
    const f = fakeFetch(json(201, issued()));
    await client(f.fetch, { userAgent: 'tickets-mcp/1.2' }).getCredential(REQUEST);
    expect(f.calls[0]!.headers.get('user-agent')).toBe('tickets-mcp/1.2');
  });

  it('asks the token source on every request, so a rotated token is used', async () => {
    let n = 0;
    const token = vi.fn(() => `tok.en.${++n}`);
    const f = fakeFetch(json(201, issued()), json(201, issued({ lease_id: 'lse_02' })));
    const c = client(f.fetch, { token });
    await c.getCredential(REQUEST);
    await c.getCredential(REQUEST);
    expect(token).toHaveBeenCalledTimes(2);
    expect(f.calls.map((x) => x.headers.get('authorization'))).toEqual([
      'Bearer tok.en.1',
      'Bearer tok.en.2',
    ]);
  });

  it('awaits an async token source', async () => {
    const f = fakeFetch(json(201, issued()));
    await client(f.fetch, { token: async () => ' async.tok.en\n' }).getCredential(REQUEST);
    expect(f.calls[0]!.headers.get('authorization')).toBe('Bearer async.tok.en');
  });

  it('introspect sends the token form-encoded', async () => {
    const f = fakeFetch(json(200, { active: true, sub: 'agent-a', scope: 'tickets:read' }));
    const result = await client(f.fetch).introspect('a.b+c/=');
    const call = f.calls[0]!;
    expect(call.url).toBe('http://127.0.0.1:8080/v1/introspect');
    expect(call.method).toBe('POST');
    expect(call.headers.get('content-type')).toBe('application/x-www-form-urlencoded');
    expect(new URLSearchParams(call.body).get('token')).toBe('a.b+c/=');
    expect(result).toEqual({ active: true, sub: 'agent-a', scope: 'tickets:read' });
  });

  it('revoke deletes the lease and reports a revocation still in flight', async () => {
    const f = fakeFetch(
      json(200, { lease_id: 'lse_01', state: 'revoked' }),
      json(202, { lease_id: 'lse_02', state: 'revoking' }),
    );
    const c = client(f.fetch);
    expect(await c.revoke('lse_01')).toEqual({
      leaseId: 'lse_01',
      state: 'revoked',
      pending: false,
    });
    expect(await c.revoke('lse_02')).toEqual({
      leaseId: 'lse_02',
      state: 'revoking',
      pending: true,
    });
    expect(f.calls.map((x) => `${x.method} ${x.url}`)).toEqual([
      'DELETE http://127.0.0.1:8080/v1/leases/lse_01',
      'DELETE http://127.0.0.1:8080/v1/leases/lse_02',
    ]);
  });

  it('endTask escapes the task id into one path segment', async () => {
    const f = fakeFetch(
      json(200, { task: 'repo/issue#42', workload: 'agent-a', revoked: 2, revoking: 0, failed: 0 }),
    );
    const result = await client(f.fetch).endTask('repo/issue#42');
    expect(f.calls[0]!.url).toBe('http://127.0.0.1:8080/v1/tasks/repo%2Fissue%2342/revoke');
    expect(f.calls[0]!.method).toBe('POST');
    expect(result.revoked).toBe(2);
  });

  it('getLease turns timestamps into dates and keeps optional fields optional', async () => {
    const f = fakeFetch(
      json(200, {
        lease_id: 'lse_01',
        workload: 'agent-a',
        subject: 'spiffe://test/agent-a',
        issuer: 'https://issuer.test.example',
        target: 'tickets',
        provider: 'jwt',
        scope: { scopes: ['tickets:read'] },
        task: { id: 'task-1', intent: 'triage', tool: 'list_tickets' },
        state: 'revoked',
        created_at: '2030-01-01T00:00:00.000Z',
        expires_at: '2030-01-01T00:05:00.000Z',
        max_expires_at: '2030-01-01T00:15:00.000Z',
        revoked_at: '2030-01-01T00:01:00.000Z',
        attempts: 1,
        policy: 'agents-read-tickets',
        policy_hash: 'abc',
      }),
    );
    const lease = await client(f.fetch).getLease('lse_01');
    expect(f.calls[0]!.method).toBe('GET');
    expect(lease.revokedAt).toEqual(new Date('2030-01-01T00:01:00.000Z'));
    expect(lease.maxExpiresAt).toEqual(new Date('2030-01-01T00:15:00.000Z'));
    expect(lease.task.tool).toBe('list_tickets');
    expect('lastError' in lease).toBe(false);
  });

  it('refuses plain http to a non-loopback broker unless allowed', () => {
    const token = () => WORKLOAD_TOKEN;
    expect(() => new JitBrokerClient({ url: 'http://broker.example', token })).toThrow(TypeError);
    expect(
      () => new JitBrokerClient({ url: 'http://broker.example', token, allowInsecureHttp: true }),
    ).not.toThrow();
    expect(() => new JitBrokerClient({ url: 'https://broker.example', token })).not.toThrow();
    expect(() => new JitBrokerClient({ url: 'ftp://broker.example', token })).toThrow(TypeError);
  });
});

describe('withCredential', () => {
  it('revokes the lease after fn returns, and returns its result', async () => {
    const f = fakeFetch(json(201, issued()), json(200, { lease_id: 'lse_01', state: 'revoked' }));
    const result = await client(f.fetch).withCredential(
      REQUEST,
      async (c: JwtCredential, lease) => {
        expect(f.calls).toHaveLength(1);
        return `${lease.leaseId}:${c.audience}`;
      },
    );
    expect(result).toBe('lse_01:https://tickets.test.example');
    expect(f.calls.map((x) => `${x.method} ${x.url}`)).toEqual([
      'POST http://127.0.0.1:8080/v1/credentials',
      'DELETE http://127.0.0.1:8080/v1/leases/lse_01',
    ]);
  });

  it('revokes the lease when fn throws, and rethrows fn’s error', async () => {
    const f = fakeFetch(json(201, issued()), json(200, { lease_id: 'lse_01', state: 'revoked' }));
    const boom = new Error('tickets API exploded');
    await expect(
      client(f.fetch).withCredential(REQUEST, async () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(f.calls[1]!.method).toBe('DELETE');
    expect(f.calls[1]!.url).toBe('http://127.0.0.1:8080/v1/leases/lse_01');
  });

  it('reports a failed revocation without replacing fn’s result', async () => {
    const onRevokeError = vi.fn();
    const f = fakeFetch(json(201, issued()), problem(404, 'lease_not_found'));
    const result = await client(f.fetch, { onRevokeError }).withCredential(REQUEST, async () => 7);
    expect(result).toBe(7);
    expect(onRevokeError).toHaveBeenCalledTimes(1);
    const [error, leaseId] = onRevokeError.mock.calls[0]!;
    expect(leaseId).toBe('lse_01');
    expect(error).toBeInstanceOf(JitBrokerError);
    expect((error as JitBrokerError).code).toBe('lease_not_found');
  });

  it('does not call fn when the broker refuses', async () => {
    const f = fakeFetch(problem(403, 'intent_not_allowed'));
    const fn = vi.fn(async () => 1);
    await expect(client(f.fetch).withCredential(REQUEST, fn)).rejects.toMatchObject({
      code: 'intent_not_allowed',
    });
    expect(fn).not.toHaveBeenCalled();
    expect(f.calls).toHaveLength(1);
  });
});

describe('tokenFile', () => {
  it('re-reads the file on every call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jit-token-'));
    try {
      const path = join(dir, 'token');
      writeFileSync(path, 'first.to.ken\n');
      const read = tokenFile(path);
      expect(await read()).toBe('first.to.ken');
      writeFileSync(path, 'second.to.ken\n');
      expect(await read()).toBe('second.to.ken');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
