import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageVersion } from '../../src/cli/version.js';
import { type Harness, sleep, startHarness } from '../helpers/broker-harness.js';
import { freePort } from '../helpers/free-port.js';
import { type Scrape, scrape } from '../helpers/prometheus-scrape.js';
import { redisAvailable, requireService } from '../helpers/services.js';
import { addSlowTarget } from '../helpers/slow-target.js';

/** Task ids, subjects and tokens of this suite: none may show up as a label value. */
const TASK = 'metrics-task-7f3a';
const request = (task = TASK, extra: object = {}) => ({
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: task, intent: 'triage' },
  ...extra,
});

/** A webhook the required `siem` sink writes to; it answers 503 while `down` is set. */
function siemReceiver(): { server: Server; down: boolean } {
  const state = { server: createServer(), down: false };
  state.server.on('request', (req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(state.down ? 503 : 200).end());
  });
  return state;
}

describe('/metrics after real traffic', () => {
  let h: Harness | undefined;
  const siem = siemReceiver();
  let agentA: string;
  let agentB: string;
  const leaseIds: string[] = [];

  beforeAll(async () => {
    if (!(await requireService('redis', await redisAvailable()))) return;
    const port = await freePort();
    await new Promise<void>((r) => siem.server.listen(port, '127.0.0.1', r));
    h = await startHarness({
      store: 'redis',
      allowProviderModules: true,
      configure: (raw) => {
        (raw.events as Record<string, unknown>).http = [
          { name: 'siem', kind: 'webhook', url: `http://127.0.0.1:${port}/hook`, mode: 'required' },
        ];
        addSlowTarget(raw, ['agent-a', 'agent-b'], 1);
      },
    });
    agentA = await h.workloadToken('spiffe://test/agent-a');
    agentB = await h.workloadToken('spiffe://test/agent-b');
  });
  afterAll(async () => {
    await h?.close();
    await new Promise((r) => siem.server.close(r));
  });

  const broker = (): Harness => {
    if (!h) throw new Error('no broker: Redis is not reachable');
    return h;
  };
  async function issue(token: string, body: object = request()): Promise<string> {
    const res = await broker().request('/v1/credentials', { method: 'POST', token, json: body });
    const payload = (await res.json()) as { lease_id: string; code?: string };
    expect(res.status, payload.code).toBe(201);
    leaseIds.push(payload.lease_id);
    return payload.lease_id;
  }
  const active = (s: Scrape, target = 'tickets') =>
    s.value('jit_leases_active', { target, provider: target === 'tickets' ? 'jwt' : 'module' });

  it('names the build and exports the process and Node runtime defaults', async (ctx) => {
    if (!h) ctx.skip();
    const s = await scrape(broker());
    expect(s.value('jit_build_info', { version: packageVersion() })).toBe(1);
    expect(s.has('process_cpu_user_seconds_total')).toBe(true);
    expect(s.has('process_resident_memory_bytes')).toBe(true);
    expect(s.has('nodejs_eventloop_lag_seconds')).toBe(true);
    expect(s.has('nodejs_heap_size_used_bytes')).toBe(true);
  });

  it('active leases go up by one per issuance and down when one is revoked', async (ctx) => {
    if (!h) ctx.skip();
    const before = await scrape(broker());
    const id = await issue(agentA);
    const issued = await scrape(broker());
    expect(active(issued)).toBe(active(before) + 1);
    expect(issued.value('jit_leases', { state: 'active' })).toBe(
      before.value('jit_leases', { state: 'active' }) + 1,
    );
    expect(issued.value('jit_credentials_issued_total', { target: 'tickets' })).toBe(
      before.value('jit_credentials_issued_total', { target: 'tickets' }) + 1,
    );

    const res = await broker().request(`/v1/leases/${id}`, { method: 'DELETE', token: agentA });
    expect(res.status).toBe(200);
    const revoked = await scrape(broker());
    expect(active(revoked)).toBe(active(before));
    expect(revoked.value('jit_leases', { state: 'revoked' })).toBe(
      before.value('jit_leases', { state: 'revoked' }) + 1,
    );
    expect(revoked.value('jit_leases_revoked_total', { target: 'tickets', reason: 'owner' })).toBe(
      before.value('jit_leases_revoked_total', { target: 'tickets', reason: 'owner' }) + 1,
    );
    // Counted under the route's template, never the path with the lease id in it.
    const route = { method: 'DELETE', route: '/v1/leases/{id}', status: '200' };
    expect(revoked.value('jit_http_requests_total', route)).toBe(
      before.value('jit_http_requests_total', route) + 1,
    );
    expect(revoked.value('jit_http_request_duration_seconds_count', route)).toBe(
      before.value('jit_http_request_duration_seconds_count', route) + 1,
    );
  });

  it('the active gauge is what the store holds, not what this process counted', async (ctx) => {
    if (!h) ctx.skip();
    const before = await scrape(broker());
    const id = await issue(agentA, request('metrics-replica'));
    // The store is shared; the figure is read from it, not counted in the issuing process.
    const census = await broker().broker.store.census(100_000);
    const stored = census.counts
      .filter((c) => c.state === 'active' && c.target === 'tickets')
      .reduce((n, c) => n + c.leases, 0);
    const s = await scrape(broker());
    expect(active(s)).toBe(stored);
    expect(active(s)).toBe(active(before) + 1);
    await broker().request(`/v1/leases/${id}`, { method: 'DELETE', token: agentA });
  });

  it('times revocations by provider kind, with the outcome', async (ctx) => {
    if (!h) ctx.skip();
    const labels = { provider: 'module', outcome: 'success' };
    const before = await scrape(broker());
    const id = await issue(agentA, {
      target: 'slow',
      scope: { name: 'x' },
      task: { id: TASK, intent: 'triage' },
    });
    expect(active(await scrape(broker()), 'slow')).toBe(active(before, 'slow') + 1);
    await broker().request(`/v1/leases/${id}`, { method: 'DELETE', token: agentA });
    const after = await scrape(broker());
    expect(after.value('jit_revoke_duration_seconds_count', labels)).toBe(
      before.value('jit_revoke_duration_seconds_count', labels) + 1,
    );
    expect(active(after, 'slow')).toBe(active(before, 'slow'));
  });

  it('an unknown path is counted as unmatched, not under its raw path', async (ctx) => {
    if (!h) ctx.skip();
    const path = '/v1/no-such-route/lse_probe123';
    const before = await scrape(broker());
    expect((await broker().request(path)).status).toBe(404);
    expect((await broker().request(`${path}/again`)).status).toBe(404);
    const after = await scrape(broker());
    const labels = { method: 'GET', route: 'unmatched', status: '404' };
    expect(after.value('jit_http_requests_total', labels)).toBe(
      before.value('jit_http_requests_total', labels) + 2,
    );
    expect(after.text).not.toContain('no-such-route');
    expect(after.text).not.toContain('lse_probe123');
  });

  it('a scan of random paths, ids and methods adds a handful of series, not one per request', async (ctx) => {
    if (!h) ctx.skip();
    const series = (s: Scrape) =>
      s.samples.filter((sample) => sample.name === 'jit_http_requests_total').length;
    const before = await scrape(broker());
    for (let i = 0; i < 40; i += 1) {
      await broker().request(`/v1/${randomUUID()}/${i}`, { method: i % 2 ? 'PROPFIND' : 'GET' });
      await broker().request(`/v1/leases/lse_${randomUUID()}%3Cscript%3E`, { token: agentA });
    }
    const after = await scrape(broker());
    expect(series(after) - series(before)).toBeLessThanOrEqual(3);
    expect(after.value('jit_http_requests_total', { method: 'other', route: 'unmatched' })).toBe(
      20,
    );
    expect(
      after.value('jit_http_requests_total', { route: '/v1/leases/{id}', method: 'GET' }),
    ).toBe(
      before.value('jit_http_requests_total', { route: '/v1/leases/{id}', method: 'GET' }) + 40,
    );
    expect(after.text).not.toContain('%3Cscript');
    expect(after.text).not.toContain('<script');
    expect(after.text).not.toContain('PROPFIND');
  });

  it('counts auth failures by reason and denials by code', async (ctx) => {
    if (!h) ctx.skip();
    const before = await scrape(broker());
    const bad = await broker().request('/v1/leases', { token: 'not-a-jwt' });
    expect(bad.status).toBe(401);
    const denied = await broker().request('/v1/credentials', {
      method: 'POST',
      token: agentA,
      json: request(TASK, { scope: { scopes: ['tickets:delete'] } }),
    });
    expect(denied.status).toBe(403);
    const { code } = (await denied.json()) as { code: string };
    const after = await scrape(broker());
    const failures = (s: Scrape) => s.value('jit_auth_failures_total');
    expect(failures(after)).toBe(failures(before) + 1);
    expect(after.value('jit_credentials_denied_total', { code })).toBe(
      before.value('jit_credentials_denied_total', { code }) + 1,
    );
    const route = { method: 'GET', route: '/v1/leases', status: '401' };
    expect(after.value('jit_http_requests_total', route)).toBe(
      before.value('jit_http_requests_total', route) + 1,
    );
  });

  it('the kill switch takes the leases out of the gauge and counts the workload blocked', async (ctx) => {
    if (!h) ctx.skip();
    const before = await scrape(broker());
    await issue(agentB, request('metrics-kill-1'));
    await issue(agentB, request('metrics-kill-2'));
    expect(active(await scrape(broker()))).toBe(active(before) + 2);
    const res = await broker().request('/v1/workloads/agent-b/revoke', {
      method: 'POST',
      token: await broker().operatorToken(['revoker']),
      json: { reason: 'metrics drill', block: true },
    });
    expect(res.status).toBe(200);
    const killed = await scrape(broker());
    expect(active(killed)).toBe(active(before));
    expect(killed.value('jit_workloads_blocked')).toBe(before.value('jit_workloads_blocked') + 1);

    const unblocked = await broker().request('/v1/workloads/agent-b/unblock', {
      method: 'POST',
      token: broker().breakGlass.token,
    });
    expect(unblocked.status).toBe(200);
    expect((await scrape(broker())).value('jit_workloads_blocked')).toBe(
      before.value('jit_workloads_blocked'),
    );
  });

  it('shows a freeze while it lasts', async (ctx) => {
    if (!h) ctx.skip();
    const admin = await broker().operatorToken(['admin']);
    expect((await scrape(broker())).value('jit_issuance_frozen')).toBe(0);
    const frozen = await broker().request('/v1/freeze', {
      method: 'POST',
      token: admin,
      json: { reason: 'metrics drill' },
    });
    expect(frozen.status).toBe(200);
    expect((await scrape(broker())).value('jit_issuance_frozen')).toBe(1);
    await broker().request('/v1/freeze', { method: 'DELETE', token: admin });
    expect((await scrape(broker())).value('jit_issuance_frozen')).toBe(0);
  });

  it('observes how late the reaper claimed an expired lease', async (ctx) => {
    if (!h) ctx.skip();
    const before = await scrape(broker());
    const id = await issue(agentA, request('metrics-expiry', { ttl: 1 }));
    // Waits for the reaper to expire the lease (a state, not a duration, is asserted).
    for (let i = 0; i < 100; i += 1) {
      if ((await broker().broker.store.get(id))?.state === 'expired') break;
      await sleep(100);
    }
    expect((await broker().broker.store.get(id))?.state).toBe('expired');
    const after = await scrape(broker());
    expect(after.value('jit_reaper_expiry_lag_seconds_count')).toBeGreaterThan(
      before.value('jit_reaper_expiry_lag_seconds_count'),
    );
    expect(after.has('jit_reaper_lag_seconds')).toBe(true);
    expect(after.value('jit_leases', { state: 'expired' })).toBe(
      before.value('jit_leases', { state: 'expired' }) + 1,
    );
  });

  it('a required sink that fails moves its failure counter and health gauge; issuance fails closed', async (ctx) => {
    if (!h) ctx.skip();
    const sink = { sink: 'siem' };
    const before = await scrape(broker());
    expect(before.value('jit_event_sink_up', { sink: 'siem', mode: 'required' })).toBe(1);
    expect(before.value('jit_event_sink_written_total', sink)).toBeGreaterThan(0);
    siem.down = true;
    try {
      const refused = await broker().request('/v1/credentials', {
        method: 'POST',
        token: agentA,
        json: request('metrics-siem-down'),
      });
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { code: string }).code).toBe('audit_unavailable');
      const down = await scrape(broker());
      expect(down.value('jit_event_sink_up', { sink: 'siem', mode: 'required' })).toBe(0);
      expect(down.value('jit_event_sink_write_failures_total', sink)).toBeGreaterThan(
        before.value('jit_event_sink_write_failures_total', sink),
      );
      expect(down.value('jit_event_sink_queue_depth', sink)).toBeGreaterThan(0);
      // The sink's trouble is logged as the sink's, not as the request that set it off.
      const sinkLines = broker()
        .logs.text.split('\n')
        .filter((l) => l.includes('event sink problem'))
        .map((l) => JSON.parse(l) as { sink: string; request_id?: string });
      expect(sinkLines.length).toBeGreaterThan(0);
      for (const line of sinkLines) expect(line.request_id).toBeUndefined();
      const route = { method: 'POST', route: '/v1/credentials', status: '503' };
      expect(down.value('jit_http_requests_total', route)).toBe(
        before.value('jit_http_requests_total', route) + 1,
      );
    } finally {
      siem.down = false;
    }
    await broker().broker.events.flush();
    const up = await scrape(broker());
    expect(up.value('jit_event_sink_up', { sink: 'siem', mode: 'required' })).toBe(1);
    expect(up.value('jit_event_sink_queue_depth', sink)).toBe(0);
    expect(up.value('jit_event_sink_dropped_total', sink)).toBe(0);
  });

  it('no label value names a lease, a task, a token or a subject', async (ctx) => {
    if (!h) ctx.skip();
    const s = await scrape(broker());
    const forbidden = [
      ...leaseIds,
      TASK,
      'metrics-kill-1',
      'metrics-replica',
      agentA,
      agentB,
      broker().breakGlass.token,
      'spiffe://test/agent-a',
      'spiffe://test/agent-b',
      'alice@example.com',
    ];
    expect(leaseIds.length).toBeGreaterThan(5);
    const values = s.samples.flatMap((sample) => Object.values(sample.labels));
    for (const secret of forbidden) {
      expect(values.filter((v) => v.includes(secret))).toEqual([]);
      expect(s.text).not.toContain(secret);
    }
    expect(values.some((v) => v.startsWith('lse_'))).toBe(false);
    // Every route label is a registered template or `unmatched`.
    const templates = new Set(
      broker()
        .broker.app.routes.filter((r) => r.method !== 'ALL')
        .map((r) => r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')),
    );
    const routes = new Set(s.samples.flatMap((sample) => sample.labels.route ?? []));
    expect(routes.size).toBeGreaterThan(4);
    for (const route of routes) {
      expect(route === 'unmatched' || templates.has(route), route).toBe(true);
    }
  });
});
