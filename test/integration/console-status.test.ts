import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { freePort } from '../helpers/free-port.js';
import { redisAvailable, requireService } from '../helpers/services.js';

/** `GET /v1/status`, the console's overview figures, against a broker on Redis. */
describe('GET /v1/status', () => {
  let h: Harness | undefined;
  let viewer: string;

  beforeAll(async () => {
    if (!(await requireService('redis', await redisAvailable()))) return;
    const closed = await freePort();
    h = await startHarness({
      store: 'redis',
      configure: (raw) => {
        // A webhook nobody listens on: its writes fail, so it is reported down.
        (raw.events as Record<string, unknown>).http = [
          {
            name: 'dead-hook',
            kind: 'webhook',
            url: `http://127.0.0.1:${closed}/events`,
            format: 'json',
            mode: 'best_effort',
          },
        ];
      },
    });
    viewer = await h.operatorToken(['viewer']);
  });
  afterAll(async () => {
    await h?.close();
  });

  async function issue(task: string): Promise<string> {
    if (h === undefined) throw new Error('no broker');
    const res = await h.request('/v1/credentials', {
      method: 'POST',
      token: await h.workloadToken('spiffe://test/agent-a'),
      json: {
        target: 'tickets',
        scope: { scopes: ['tickets:read'] },
        task: { id: task, intent: 'triage' },
      },
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { lease_id: string }).lease_id;
  }

  it('counts active leases by target and every state, from the store', async (ctx) => {
    if (h === undefined) return ctx.skip();
    await issue('status-1');
    const revoked = await issue('status-2');
    const del = await h.request(`/v1/leases/${revoked}`, {
      method: 'DELETE',
      token: await h.operatorToken(['revoker']),
    });
    expect(del.status).toBe(200);

    const res = await h.request('/v1/status', { token: viewer });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as {
      leases: {
        active_by_target: Record<string, number>;
        by_state: Record<string, number>;
        truncated: boolean;
      };
    };
    expect(body.leases.active_by_target).toEqual({ tickets: 1 });
    expect(body.leases.by_state).toMatchObject({ active: 1, revoked: 1, revoke_failed: 0 });
    expect(Object.keys(body.leases.by_state).sort()).toEqual([
      'active',
      'expired',
      'pending',
      'revoke_failed',
      'revoked',
      'revoking',
    ]);
    expect(body.leases.truncated).toBe(false);
  });

  it("reports each sink's health: a sink whose writes fail is down", async (ctx) => {
    if (h === undefined) return ctx.skip();
    await h.broker.events.flush(2_000);
    const body = (await (await h.request('/v1/status', { token: viewer })).json()) as {
      sinks: { sink: string; mode: string; up: boolean; failed_writes: number }[];
    };
    const dead = body.sinks.find((s) => s.sink === 'dead-hook');
    expect(dead).toMatchObject({ mode: 'best_effort', up: false });
    expect(dead?.failed_writes).toBeGreaterThan(0);
    const healthy = body.sinks.filter((s) => s.sink !== 'dead-hook');
    expect(healthy.length).toBeGreaterThan(0);
    expect(healthy.every((s) => s.up)).toBe(true);
  });

  it('tells no secret: no token, lease id or credential in the body', async (ctx) => {
    if (h === undefined) return ctx.skip();
    const id = await issue('status-3');
    const text = await (await h.request('/v1/status', { token: viewer })).text();
    expect(text).not.toContain(id);
    expect(text).not.toContain(viewer);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
  });
});
