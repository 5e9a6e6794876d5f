import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { revokeWorkload } from '../helpers/lease-http.js';

/*
 * The workload report, the inventory and the revocation receipt are operator reads: a
 * workload may read none of them, its own included, and an odd id in the path is refused
 * with a problem code before anything is looked up.
 */

const ROUTES = [
  (id: string) => `/v1/workloads/${id}/report?window=7d`,
  (id: string) => `/v1/workloads/${id}/revocation-receipt`,
];

describe('operator-only workload reads', () => {
  let h: Harness;
  let viewer: string;
  let workload: string;

  beforeAll(async () => {
    h = await startHarness();
    viewer = await h.operatorToken(['viewer']);
    workload = await h.workloadToken('spiffe://test/agent-a');
    // agent-a has a receipt and leases, so a refusal is not just "nothing there".
    const issued = await h.request('/v1/credentials', {
      method: 'POST',
      token: workload,
      json: {
        target: 'tickets',
        scope: { scopes: ['tickets:read'] },
        task: { id: 't-1', intent: 'triage' },
      },
    });
    expect(issued.status).toBe(201);
    await revokeWorkload(h, 'agent-a');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a viewer reads them; a workload cannot read its own or another one’s, nor the inventory', async () => {
    for (const route of ROUTES) {
      expect((await h.request(route('agent-a'), { token: viewer })).status).toBe(200);
      for (const id of ['agent-a', 'agent-b']) {
        const res = await h.request(route(id), { token: workload });
        // Not an operator token: refused as a credential, before any role is looked at.
        expect([401, 403], route(id)).toContain(res.status);
        expect(JSON.stringify(await res.json())).not.toContain('tickets');
      }
      expect((await h.request(route('agent-a'))).status).toBe(401);
    }
    expect((await h.request('/v1/workloads/inventory', { token: viewer })).status).toBe(200);
    expect([401, 403]).toContain(
      (await h.request('/v1/workloads/inventory', { token: workload })).status,
    );
    expect((await h.request('/v1/workloads/inventory')).status).toBe(401);
  });

  it('an odd id is refused with a problem code, never looked up', async () => {
    const odd = [
      '..',
      '%2e%2e',
      '..%2F..%2Fagent-a',
      'agent-a%3Aother',
      'agent-a:other',
      'Agent-A',
      'a'.repeat(65),
      encodeURIComponent('agént-a'),
      encodeURIComponent('agent-a\u0000'),
      '%ff',
    ];
    for (const route of ROUTES) {
      for (const id of odd) {
        const res = await h.request(route(id), { token: viewer });
        expect([400, 404, 422], `${route(id)} → ${res.status}`).toContain(res.status);
        expect(res.headers.get('content-type') ?? '').toMatch(/application\/problem\+json/);
        const body = (await res.json()) as { code?: string };
        expect(typeof body.code).toBe('string');
        expect(JSON.stringify(body)).not.toContain('incident drill');
      }
    }
  });
});
