import { describe, expect, it } from 'vitest';
import { CredentialCache, JitBrokerClient } from '../../../src/client/index.js';
import { fakeFetch, issued, json, problem, REQUEST } from '../../helpers/fake-fetch.js';

const ISSUED_AT = Date.parse('2030-01-01T00:00:00.000Z');

function setup(...responses: Response[]) {
  const f = fakeFetch(...responses);
  const client = new JitBrokerClient({
    url: 'http://127.0.0.1:8080',
    token: () => 'a.b.c',
    fetch: f.fetch,
  });
  let now = ISSUED_AT;
  const cache = new CredentialCache(client, { skewMs: 30_000, now: () => now });
  return { f, cache, advance: (ms: number) => (now += ms) };
}

describe('CredentialCache', () => {
  it('reuses a lease for the same target, scope and task, whatever the key order', async () => {
    const { f, cache } = setup(json(201, issued()));
    const a = await cache.get(REQUEST);
    const b = await cache.get({
      task: { intent: 'triage', id: 'task-1' },
      scope: { scopes: ['tickets:read'] },
      target: 'tickets',
    });
    expect(b).toBe(a);
    expect(f.calls).toHaveLength(1);
  });

  it('asks again for another scope, task or tool', async () => {
    const { f, cache } = setup(
      json(201, issued({ lease_id: 'lse_1' })),
      json(201, issued({ lease_id: 'lse_2' })),
      json(201, issued({ lease_id: 'lse_3' })),
      json(201, issued({ lease_id: 'lse_4' })),
    );
    await cache.get(REQUEST);
    await cache.get({ ...REQUEST, scope: { scopes: ['tickets:comment'] } });
    await cache.get({ ...REQUEST, task: { id: 'task-2', intent: 'triage' } });
    await cache.get({ ...REQUEST, task: { ...REQUEST.task, tool: 'list_tickets' } });
    expect(f.calls).toHaveLength(4);
  });

  it('stops reusing a lease skewMs before it expires', async () => {
    const { f, cache, advance } = setup(
      json(201, issued({ lease_id: 'lse_1' })),
      json(201, issued({ lease_id: 'lse_2', expires_at: '2030-01-01T00:10:00.000Z' })),
    );
    await cache.get(REQUEST);
    advance(5 * 60_000 - 30_001);
    expect((await cache.get(REQUEST)).leaseId).toBe('lse_1');
    advance(1);
    expect((await cache.get(REQUEST)).leaseId).toBe('lse_2');
    expect(f.calls).toHaveLength(2);
  });

  it('shares one broker call between concurrent misses', async () => {
    const { f, cache } = setup(json(201, issued()));
    const [a, b] = await Promise.all([cache.get(REQUEST), cache.get(REQUEST)]);
    expect(a.leaseId).toBe(b.leaseId);
    expect(f.calls).toHaveLength(1);
  });

  it('does not cache a refusal', async () => {
    const { f, cache } = setup(problem(403, 'intent_not_allowed'), json(201, issued()));
    await expect(cache.get(REQUEST)).rejects.toMatchObject({ code: 'intent_not_allowed' });
    expect((await cache.get(REQUEST)).leaseId).toBe('lse_01');
    expect(f.calls).toHaveLength(2);
  });

  it('evict forgets the lease; endTask forgets the task’s leases and revokes at the broker', async () => {
    const { f, cache } = setup(
      json(201, issued({ lease_id: 'lse_1' })),
      json(201, issued({ lease_id: 'lse_2' })),
      json(200, { task: 'task-1', workload: 'agent-a', revoked: 1, revoking: 0, failed: 0 }),
      json(201, issued({ lease_id: 'lse_3' })),
    );
    await cache.get(REQUEST);
    cache.evict(REQUEST);
    expect((await cache.get(REQUEST)).leaseId).toBe('lse_2');
    await cache.endTask('task-1');
    expect(f.calls[2]!.url).toBe('http://127.0.0.1:8080/v1/tasks/task-1/revoke');
    expect((await cache.get(REQUEST)).leaseId).toBe('lse_3');
  });

  it('revokeAll revokes every cached lease', async () => {
    const { f, cache } = setup(
      json(201, issued({ lease_id: 'lse_1' })),
      json(201, issued({ lease_id: 'lse_2' })),
      json(200, { lease_id: 'lse_1', state: 'revoked' }),
      json(200, { lease_id: 'lse_2', state: 'revoked' }),
    );
    await cache.get(REQUEST);
    await cache.get({ ...REQUEST, task: { id: 'task-2', intent: 'triage' } });
    await cache.revokeAll();
    const deletes = f.calls.filter((c) => c.method === 'DELETE').map((c) => c.url);
    expect(deletes.sort()).toEqual([
      'http://127.0.0.1:8080/v1/leases/lse_1',
      'http://127.0.0.1:8080/v1/leases/lse_2',
    ]);
  });
});
