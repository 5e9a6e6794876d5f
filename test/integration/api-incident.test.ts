import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../../src/config/schema.js';
import { type Harness, sleep, startHarness } from '../helpers/broker-harness.js';

const REQUEST = {
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: 'inc-1', intent: 'triage' },
};

interface Issued {
  lease_id: string;
  expires_at: string;
  credential: { token: string };
}

describe('renewal, freeze, selector revoke and retry', () => {
  let h: Harness;
  let agentA: string;
  let agentB: string;

  beforeAll(async () => {
    h = await startHarness({
      configure: (raw) => {
        (raw.leases as Record<string, unknown>).reaper = {
          interval: '50ms',
          claim_timeout: '2s',
          max_attempts: 2,
          backoff_base: '20ms',
          backoff_max: '100ms',
        };
      },
    });
    agentA = await h.workloadToken('spiffe://test/agent-a');
    agentB = await h.workloadToken('spiffe://test/agent-b');
  });
  afterAll(async () => {
    await h.close();
  });

  async function issue(token = agentA, body: object = REQUEST): Promise<Issued> {
    const res = await h.request('/v1/credentials', { method: 'POST', token, json: body });
    expect(res.status).toBe(201);
    return (await res.json()) as Issued;
  }

  it("every event names a policy set: its own decision's, or the one in force", async () => {
    await issue(agentB, { ...REQUEST, task: { id: 'ph-1', intent: 'triage' } });
    await h.request('/v1/workloads/agent-b/revoke', {
      method: 'POST',
      token: await h.operatorToken(['revoker']),
      json: { reason: 'policy hash drill', block: false },
    });
    await h.request('/v1/leases', { token: 'not-a-jwt' });
    const events = await h.flushedEvents();
    const hash = h.broker.runtime().policy.hash;
    for (const type of ['credential.issued', 'workload.revoked', 'auth.failed']) {
      const event = events.filter((e) => e.type === type).at(-1);
      expect(event?.policy_hash, type).toBe(hash);
    }
    // Chain events are the bus's own, not decisions.
    expect(events.find((e) => e.type === 'chain.genesis')?.policy_hash).toBeUndefined();
  });

  it('a reload rotates the sealing key: new handles use it, old ones still open', async () => {
    const before = await issue(agentA, { ...REQUEST, ttl: 60 });
    const original = h.config;
    const rotated = {
      ...original,
      encryption: {
        keys: [
          { id: 'k2', key: Buffer.alloc(32, 9).toString('base64') },
          ...original.encryption.keys,
        ],
      },
    } satisfies BrokerConfig;
    h.broker.reload(rotated);
    try {
      const after = await issue(agentA, { ...REQUEST, ttl: 60 });
      const kid = async (id: string) => (await h.broker.store.get(id))?.handle?.split('.')[1];
      expect(await kid(before.lease_id)).toBe('k1');
      expect(await kid(after.lease_id)).toBe('k2');
      // Renewal opens the handle: the one sealed under k1 still opens with the new keyring.
      const renewed = await h.request(`/v1/leases/${before.lease_id}/renew`, {
        method: 'POST',
        token: agentA,
        json: { ttl: 120 },
      });
      expect(renewed.status).toBe(200);
    } finally {
      h.broker.reload(original);
    }
    // Going back drops k2, under which a live lease is sealed: the operator is told.
    expect(h.logs.text).toMatch(/"dropped":\["k2"\].*encryption keys removed/);
  });

  it('renews a jwt lease: a reissued token with the same jti, capped at max_ttl', async () => {
    const issued = await issue(agentA, { ...REQUEST, ttl: 60 });
    const res = await h.request(`/v1/leases/${issued.lease_id}/renew`, {
      method: 'POST',
      token: agentA,
      json: { ttl: 600 },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const renewed = (await res.json()) as Issued;
    expect(Date.parse(renewed.expires_at)).toBeGreaterThan(Date.parse(issued.expires_at) + 500_000);
    const claims = decodeJwt(renewed.credential.token);
    expect(claims.jti).toBe(issued.lease_id);
    expect((claims.exp ?? 0) * 1000).toBeGreaterThan(Date.parse(issued.expires_at));

    const capped = await h.request(`/v1/leases/${issued.lease_id}/renew`, {
      method: 'POST',
      token: agentA,
      json: { ttl: 3600 },
    });
    const cappedBody = (await capped.json()) as Issued;
    const lease = (await (
      await h.request(`/v1/leases/${issued.lease_id}`, { token: agentA })
    ).json()) as {
      max_expires_at: string;
    };
    expect(cappedBody.expires_at).toBe(lease.max_expires_at);
    const atMax = await h.request(`/v1/leases/${issued.lease_id}/renew`, {
      method: 'POST',
      token: agentA,
      json: {},
    });
    expect(atMax.status).toBe(422);
    expect(await atMax.json()).toMatchObject({
      code: 'ttl_out_of_range',
      detail: expect.stringMatching(/max_ttl: 900 seconds from issuance/),
    });
    expect(
      (await h.flushedEvents()).some(
        (e) => e.type === 'lease.renewed' && e.lease_id === issued.lease_id,
      ),
    ).toBe(true);
  });

  it('only the owner renews, and only an active lease', async () => {
    const issued = await issue();
    const other = await h.request(`/v1/leases/${issued.lease_id}/renew`, {
      method: 'POST',
      token: agentB,
      json: {},
    });
    expect(other.status).toBe(404);
    await h.request(`/v1/leases/${issued.lease_id}`, { method: 'DELETE', token: agentA });
    const gone = await h.request(`/v1/leases/${issued.lease_id}/renew`, {
      method: 'POST',
      token: agentA,
      json: {},
    });
    expect(gone.status).toBe(409);
    expect(await gone.json()).toMatchObject({ code: 'lease_not_active' });
  });

  it('freeze stops all issuance but not revocation, and is evented', async () => {
    const live = await issue();
    const admin = await h.operatorToken(['admin']);
    const viewer = await h.operatorToken(['viewer']);
    expect(
      (await h.request('/v1/freeze', { method: 'POST', token: viewer, json: { reason: 'x' } }))
        .status,
    ).toBe(403);
    expect(
      (await h.request('/v1/freeze', { method: 'POST', token: admin, json: { reason: 'breach' } }))
        .status,
    ).toBe(200);
    const refused = await h.request('/v1/credentials', {
      method: 'POST',
      token: agentA,
      json: REQUEST,
    });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ code: 'issuance_frozen' });
    expect(refused.headers.get('retry-after')).not.toBeNull();
    const revoke = await h.request(`/v1/leases/${live.lease_id}`, {
      method: 'DELETE',
      token: agentA,
    });
    expect(revoke.status).toBe(200);
    expect((await h.request('/v1/freeze', { method: 'DELETE', token: admin })).status).toBe(200);
    await issue();
    const types = (await h.flushedEvents()).map((e) => e.type);
    expect(types).toContain('issuance.frozen');
    expect(types).toContain('issuance.unfrozen');
  });

  it('revokes by selector (subject glob) and leaves everything else alone', async () => {
    const a = await issue(agentA, { ...REQUEST, task: { id: 'sel-a', intent: 'triage' } });
    const b = await issue(agentB, { ...REQUEST, task: { id: 'sel-b', intent: 'triage' } });
    const revoker = await h.operatorToken(['revoker']);
    const empty = await h.request('/v1/revoke', {
      method: 'POST',
      token: revoker,
      json: { reason: 'x' },
    });
    expect(empty.status).toBe(422);
    const res = await h.request('/v1/revoke', {
      method: 'POST',
      token: revoker,
      json: { subject: 'spiffe://test/agent-b', reason: 'agent-b image compromised' },
    });
    expect(res.status).toBe(200);
    const counts = (await res.json()) as { matched: number; revoked: number };
    expect(counts.matched).toBeGreaterThanOrEqual(1);
    expect(counts.revoked).toBe(counts.matched);
    const stateOf = async (id: string, token: string) =>
      ((await (await h.request(`/v1/leases/${id}`, { token })).json()) as { state: string }).state;
    expect(await stateOf(b.lease_id, agentB)).toBe('revoked');
    expect(await stateOf(a.lease_id, agentA)).toBe('active');
  });

  it('a revocation that keeps failing ends revoke_failed, is evented, and an operator can retry it', async () => {
    const issued = await issue();
    const original = h.broker.runtime().config;
    const withoutTarget: BrokerConfig = { ...original, targets: [], policies: [] };
    h.broker.reload(withoutTarget);
    const del = await h.request(`/v1/leases/${issued.lease_id}`, {
      method: 'DELETE',
      token: agentA,
    });
    expect(del.status).toBe(202);
    let state = '';
    for (let i = 0; i < 60 && state !== 'revoke_failed'; i += 1) {
      await sleep(50);
      state = (
        (await (await h.request(`/v1/leases/${issued.lease_id}`, { token: agentA })).json()) as {
          state: string;
        }
      ).state;
    }
    expect(state).toBe('revoke_failed');
    const failed = (await h.flushedEvents()).filter(
      (e) => e.type === 'lease.revoke_failed' && e.lease_id === issued.lease_id,
    );
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ severity: 'high', outcome: 'failure' });
    const metrics = await (await h.request('/metrics')).text();
    expect(metrics).toMatch(/jit_leases_revoke_failed_total\{target="tickets"\} 1/);

    h.broker.reload(original);
    const revoker = await h.operatorToken(['revoker']);
    const retried = await h.request(`/v1/leases/${issued.lease_id}/retry`, {
      method: 'POST',
      token: revoker,
    });
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual({ lease_id: issued.lease_id, state: 'revoked' });
    const again = await h.request(`/v1/leases/${issued.lease_id}/retry`, {
      method: 'POST',
      token: revoker,
    });
    expect(await again.json()).toEqual({ lease_id: issued.lease_id, state: 'revoked' });
    const active = await issue();
    const notFailed = await h.request(`/v1/leases/${active.lease_id}/retry`, {
      method: 'POST',
      token: revoker,
    });
    expect(notFailed.status).toBe(409);
    expect(await notFailed.json()).toMatchObject({ code: 'lease_not_retryable' });
  });
});
