import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, started } from '../fixtures/slow-provider.js';
import { type Harness, sleep, startHarness } from '../helpers/broker-harness.js';
import { redisAvailable, requireService } from '../helpers/services.js';
import { addSlowTarget } from '../helpers/slow-target.js';

describe.each(['memory', 'redis'] as const)('races (%s store)', (store) => {
  let h: Harness | undefined;
  let agent: string;

  beforeAll(async () => {
    if (store === 'redis' && !(await requireService('redis', await redisAvailable()))) return;
    h = await startHarness({
      store,
      allowProviderModules: true,
      configure: (raw) => {
        addSlowTarget(raw, ['agent-a', 'agent-b'], 200);
      },
    });
    agent = await h.workloadToken('spiffe://test/agent-a');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('mints in flight during a kill switch (without block) all end revoked, never active', async (ctx) => {
    if (!h) ctx.skip();
    const hh = h as Harness;
    const body = (i: number) => ({
      target: 'slow',
      scope: { name: 'x' },
      task: { id: `race-${i}`, intent: 'triage' },
    });
    const requests = Array.from({ length: 120 }, (_, i) =>
      hh
        .request('/v1/credentials', { method: 'POST', token: agent, json: body(i) })
        .then((r) => r.status),
    );
    const before = started.size;
    for (let i = 0; i < 200 && started.size - before < 20; i += 1) await sleep(5);
    const admin = await hh.operatorToken(['revoker']);
    const kill = await hh.request('/v1/workloads/agent-a/revoke', {
      method: 'POST',
      token: admin,
      json: { reason: 'race', block: false },
    });
    expect(kill.status).toBe(200);
    const statuses = await Promise.all(requests);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(statuses.filter((s) => s === 409).length).toBeGreaterThan(0);

    const epoch =
      (await hh.broker.store.workloads()).find((w) => w.workload === 'agent-a')?.revokedBefore ?? 0;
    expect(epoch).toBeGreaterThan(0);
    let leftActive: { id: string; createdAt: number }[] = [];
    for (let i = 0; i < 50; i += 1) {
      const page = await hh.broker.store.list({ workload: 'agent-a' }, 1000);
      leftActive = page.leases
        .filter((l) => l.state !== 'revoked')
        .map((l) => ({ id: l.id, createdAt: l.createdAt }));
      if (leftActive.every((l) => l.createdAt > epoch)) break;
      await sleep(100);
    }
    // Whatever survived was created after the kill switch; everything before it is revoked.
    expect(leftActive.filter((l) => l.createdAt <= epoch)).toEqual([]);
    // And the provider holds exactly the credentials of active leases: nothing orphaned.
    const active = new Set(leftActive.map((l) => l.id));
    const atProvider = [...alive].filter((id) => id.length > 0);
    for (const id of atProvider) {
      const lease = await hh.broker.store.get(id);
      if (lease?.workload === 'agent-a') expect(active.has(id)).toBe(true);
    }
  });

  it('revoking one lease from two places at once revokes it once and answers both', async (ctx) => {
    if (!h) ctx.skip();
    const hh = h as Harness;
    const res = await hh.request('/v1/credentials', {
      method: 'POST',
      token: agent,
      json: {
        target: 'tickets',
        scope: { scopes: ['tickets:read'] },
        task: { id: 'twice', intent: 'triage' },
      },
    });
    const { lease_id } = (await res.json()) as { lease_id: string };
    const revoker = await hh.operatorToken(['revoker']);
    const [a, b] = await Promise.all([
      hh.request(`/v1/leases/${lease_id}`, { method: 'DELETE', token: agent }),
      hh.request(`/v1/leases/${lease_id}`, { method: 'DELETE', token: revoker }),
    ]);
    expect([a.status, b.status].every((s) => s === 200 || s === 202)).toBe(true);
    const events = (await hh.flushedEvents()).filter(
      (e) => e.type === 'lease.revoked' && e.lease_id === lease_id,
    );
    expect(events).toHaveLength(1);
    expect((await hh.broker.store.get(lease_id))?.state).toBe('revoked');
  });
});
