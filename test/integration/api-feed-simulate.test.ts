import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';

const REQUEST = {
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: 'feed-1', intent: 'triage' },
};

describe('live event feed and policy simulation', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ listen: true });
  });
  afterAll(async () => {
    await h.close();
  });

  it('streams this replica’s events to a viewer as SSE, filtered by workload', async () => {
    const viewer = await h.operatorToken(['viewer']);
    const controller = new AbortController();
    const res = await fetch(`${h.broker.url}/v1/events?workload=agent-a`, {
      headers: { authorization: `Bearer ${viewer}` },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value);
      }
    };
    await readUntil('event: ready');
    await h.request('/v1/credentials', {
      method: 'POST',
      token: await h.workloadToken('spiffe://test/agent-b'),
      json: REQUEST,
    });
    const issued = await h.request('/v1/credentials', {
      method: 'POST',
      token: await h.workloadToken('spiffe://test/agent-a'),
      json: REQUEST,
    });
    const { lease_id, credential } = (await issued.json()) as {
      lease_id: string;
      credential: { token: string };
    };
    await readUntil(lease_id);
    controller.abort();
    expect(text).toContain('event: credential.issued');
    expect(text).not.toContain('"workload":"agent-b"');
    expect(text).not.toContain(credential.token);
  });

  it('the feed is for operators only', async () => {
    const res = await h.request('/v1/events', {
      token: await h.workloadToken('spiffe://test/agent-a'),
    });
    expect(res.status).toBe(401);
  });

  it('simulates a decision without minting anything', async () => {
    const admin = await h.operatorToken(['admin']);
    const before = (await h.broker.store.list({}, 1000)).leases.length;
    const allow = await h.request('/v1/policy/simulate', {
      method: 'POST',
      token: admin,
      json: { workload: 'agent-a', ...REQUEST },
    });
    expect(await allow.json()).toMatchObject({
      allow: true,
      policy: 'agents-read-tickets',
      ttl: 300,
      tier: 'write',
    });
    const deny = await h.request('/v1/policy/simulate', {
      method: 'POST',
      token: admin,
      json: { workload: 'agent-a', ...REQUEST, scope: { scopes: ['tickets:delete'] } },
    });
    expect(await deny.json()).toMatchObject({
      allow: false,
      code: 'scope_exceeds_ceiling',
      reasons: [{ code: 'scope_exceeds_ceiling', policy: 'agents-read-tickets' }],
    });
    expect((await h.broker.store.list({}, 1000)).leases.length).toBe(before);
    const unknown = await h.request('/v1/policy/simulate', {
      method: 'POST',
      token: admin,
      json: { workload: 'ghost', ...REQUEST },
    });
    expect(unknown.status).toBe(404);
    const viewer = await h.operatorToken(['viewer']);
    expect(
      (
        await h.request('/v1/policy/simulate', {
          method: 'POST',
          token: viewer,
          json: { workload: 'agent-a', ...REQUEST },
        })
      ).status,
    ).toBe(403);
  });
});
