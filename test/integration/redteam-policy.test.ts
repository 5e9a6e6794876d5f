import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { redisAvailable, requireService } from '../helpers/services.js';

/**
 * Attacks on approved credentials over HTTP, against both stores: what a human approved
 * (the request's lifetime among it) is all the credential ever gets.
 */
const APPROVED_POLICY = {
  name: 'redteam-escalations',
  workloads: ['agent-a'],
  target: 'tickets',
  allow: { scopes: ['tickets:read', 'tickets:comment'] },
  intents: ['redteam-escalate'],
  default_ttl: '1m',
  max_ttl: '15m',
  approval: { required: true, expires_after: '2m' },
};

// Fails under CI without Redis; elsewhere the Redis half is skipped with a warning.
const redisUp = await requireService('redis', await redisAvailable());
const STORES = redisUp ? (['redis', 'memory'] as const) : (['memory'] as const);

describe.each(STORES)('approved credentials (%s store)', (store) => {
  let h: Harness;
  let agent: string;
  let approver: string;

  beforeAll(async () => {
    h = await startHarness({
      store,
      configure: (raw) => {
        (raw.policies as unknown[]).push(APPROVED_POLICY);
      },
    });
    agent = await h.workloadToken('spiffe://test/agent-a');
    approver = await h.operatorToken(['approver'], 'bob@example.com');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a renewal does not stretch an approved credential past the lifetime the approver saw', async () => {
    const body = {
      target: 'tickets',
      scope: { scopes: ['tickets:read'] },
      ttl: 60,
      task: { id: `redteam-renew-${store}-${Date.now()}`, intent: 'redteam-escalate' },
    };
    const ask = () => h.request('/v1/credentials', { method: 'POST', token: agent, json: body });
    const waiting = await ask();
    expect(waiting.status).toBe(202);
    const { approval_id } = (await waiting.json()) as { approval_id: string };
    const approved = await h.request(`/v1/approvals/${approval_id}/approve`, {
      method: 'POST',
      token: approver,
      json: { reason: 'one minute is fine' },
    });
    expect(approved.status).toBe(200);
    expect(await approved.json()).toMatchObject({ ttl: 60 });

    const issued = await ask();
    expect(issued.status).toBe(201);
    const { lease_id, expires_at } = (await issued.json()) as {
      lease_id: string;
      expires_at: string;
    };

    // The policy's max_ttl (15m) would allow it; the approval was for 60 seconds.
    const renewed = await h.request(`/v1/leases/${lease_id}/renew`, {
      method: 'POST',
      token: agent,
      json: { ttl: 900 },
    });
    if (renewed.status === 200) {
      const after = (await renewed.json()) as { expires_at: string };
      expect(Date.parse(after.expires_at)).toBeLessThanOrEqual(Date.parse(expires_at));
    } else {
      expect(renewed.status).toBe(422);
      expect(await renewed.json()).toMatchObject({ code: 'ttl_out_of_range' });
    }
    const lease = await h.request(`/v1/leases/${lease_id}`, { token: approver });
    expect(lease.status).toBe(200);
    const held = (await lease.json()) as { expires_at: string };
    expect(Date.parse(held.expires_at)).toBeLessThanOrEqual(Date.parse(expires_at));
  });

  it('the fail-closed issuance event names the approval and who approved it', async () => {
    // `approval.granted` and `approval.used` are best effort: the record that cannot be lost
    // (`credential.issued`) must say on whose yes the credential stands.
    const body = {
      target: 'tickets',
      scope: { scopes: ['tickets:comment'] },
      task: { id: `redteam-audit-${store}-${Date.now()}`, intent: 'redteam-escalate' },
    };
    const ask = () => h.request('/v1/credentials', { method: 'POST', token: agent, json: body });
    const waiting = await ask();
    expect(waiting.status).toBe(202);
    const { approval_id } = (await waiting.json()) as { approval_id: string };
    const approved = await h.request(`/v1/approvals/${approval_id}/approve`, {
      method: 'POST',
      token: approver,
      json: { reason: 'ok' },
    });
    expect(approved.status).toBe(200);
    const issued = await ask();
    expect(issued.status).toBe(201);
    const { lease_id } = (await issued.json()) as { lease_id: string };
    const events = await h.flushedEvents();
    const record = events.find((e) => e.type === 'credential.issued' && e.lease_id === lease_id);
    expect(record?.detail).toMatchObject({
      approval: { id: approval_id, approved_by: 'bob@example.com' },
    });
  });

  it('an approval-free grant still renews up to its max_ttl', async () => {
    const body = {
      target: 'tickets',
      scope: { scopes: ['tickets:read'] },
      ttl: 60,
      task: { id: `redteam-free-${store}-${Date.now()}`, intent: 'triage' },
    };
    const issued = await h.request('/v1/credentials', { method: 'POST', token: agent, json: body });
    expect(issued.status).toBe(201);
    const { lease_id, expires_at } = (await issued.json()) as {
      lease_id: string;
      expires_at: string;
    };
    const renewed = await h.request(`/v1/leases/${lease_id}/renew`, {
      method: 'POST',
      token: agent,
      json: { ttl: 600 },
    });
    expect(renewed.status).toBe(200);
    const after = (await renewed.json()) as { expires_at: string };
    expect(Date.parse(after.expires_at)).toBeGreaterThan(Date.parse(expires_at));
  });
});
