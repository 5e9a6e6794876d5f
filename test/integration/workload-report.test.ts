import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { jwtCeilingSchema, jwtWithin } from '../../providers/jwt/scope.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { jwtTargetConfig } from '../helpers/jwt-target-config.js';
import { runOperatorCli } from '../helpers/operator-cli.js';
import { redisAvailable, requireService } from '../helpers/services.js';

interface Report {
  workload: string;
  owner?: string;
  review: { state: string };
  allowed: { policy: string; target: string; effect: string; max_ttl_seconds?: number }[];
  used: {
    leases: number;
    live_leases: number;
    truncated: boolean;
    by_target: { target: string; count: number; last_used: string }[];
    by_scope: { target: string; scope: unknown; count: number }[];
    by_tool: { tool: string; count: number }[];
    by_intent: { intent: string; count: number }[];
  };
  denied: { known: boolean; count?: number; by_reason?: { reason: string; count: number }[] };
  unused: { policies: { policy: string; target: string }[]; targets: string[] };
  suggestions: {
    policy: string;
    target: string;
    status: string;
    allow?: unknown;
    yaml?: string;
  }[];
}

interface Inventory {
  truncated: boolean;
  workloads: {
    workload: string;
    configured: boolean;
    owner?: string;
    description?: string;
    tier?: string;
    review_by?: string;
    review_overdue: boolean;
    live_leases: number;
    last_used?: string;
  }[];
}

describe('workload reports against a live broker (Redis store and event stream)', () => {
  let h: Harness | undefined;
  let viewer: string;
  /** Every credential handed out: none may appear in a report. */
  const secrets: string[] = [];
  let issuedAt = 0;
  let startedAt = 0;

  beforeAll(async () => {
    if (!(await requireService('Redis', await redisAvailable()))) return;
    const docs = await jwtTargetConfig('docs', 'https://docs.test.example', 'd1');
    const wiki = await jwtTargetConfig('wiki', 'https://wiki.test.example', 'w1');
    h = await startHarness({
      store: 'redis',
      listen: true,
      configure(raw) {
        (raw.targets as unknown[]).push(docs, wiki);
        const workloads = raw.workloads as Record<string, unknown>[];
        Object.assign(workloads[0] as object, {
          owner: 'platform@example.com',
          description: 'triage agent',
          review_by: '2099-12-31',
        });
        (raw.policies as unknown[]).push(
          // By glob and by tier: the report finds them as the policy index does.
          {
            name: 'agents-docs',
            workloads: ['agent-*'],
            target: 'docs',
            allow: { scopes: ['docs:read', 'docs:write'] },
            intents: ['triage'],
            default_ttl: '5m',
            max_ttl: '10m',
          },
          {
            name: 'writers-wiki',
            workloads: ['tier:write'],
            target: 'wiki',
            allow: { scopes: ['wiki:*'] },
            intents: ['triage'],
            default_ttl: '5m',
            max_ttl: '10m',
          },
          {
            name: 'only-tickets-api',
            workloads: ['tickets-api'],
            target: 'docs',
            allow: { scopes: ['docs:read'] },
            intents: ['triage'],
            default_ttl: '5m',
            max_ttl: '10m',
          },
        );
      },
    });
    viewer = await h.operatorToken(['viewer']);
    const token = await h.workloadToken('spiffe://test/agent-a');
    startedAt = Date.now();
    for (const task of [
      { id: 'r-1', intent: 'triage' },
      { id: 'r-2', intent: 'triage', tool: 'search' },
    ]) {
      const res = await h.request('/v1/credentials', {
        method: 'POST',
        token,
        json: { target: 'tickets', scope: { scopes: ['tickets:read'] }, task },
      });
      const body = (await res.json()) as { credential: { token: string } };
      expect(res.status).toBe(201);
      secrets.push(body.credential.token);
    }
    issuedAt = Date.now();
    // One request beyond the ceiling: a denial the stream records.
    const denied = await h.request('/v1/credentials', {
      method: 'POST',
      token,
      json: {
        target: 'tickets',
        scope: { scopes: ['tickets:admin'] },
        task: { id: 'r-3', intent: 'triage' },
      },
    });
    expect(denied.status).toBe(403);
    // A workload the store knows that the configuration no longer names.
    await h.broker.store.create({
      workload: 'retired-bot',
      subject: 'spiffe://test/retired-bot',
      issuer: 'test',
      target: 'tickets',
      provider: 'jwt',
      scope: { scopes: ['tickets:read'] },
      task: { id: 'old', intent: 'triage' },
      policy: 'agents-read-tickets',
      policyHash: 'x',
      ttlMs: 60_000,
      maxTtlMs: 60_000,
      maxLive: 10,
    });
    await h.broker.events.flush();
  });
  afterAll(async () => {
    await h?.close();
  });

  const report = async (id: string, window = '7d') => {
    const res = await (h as Harness).request(`/v1/workloads/${id}/report?window=${window}`, {
      token: viewer,
    });
    return { status: res.status, text: await res.text() };
  };

  it('names the two granted targets the workload never used, and the policy it did', async (ctx) => {
    if (!h) return ctx.skip();
    const { status, text } = await report('agent-a');
    expect(status).toBe(200);
    const r = JSON.parse(text) as Report;
    expect(r.owner).toBe('platform@example.com');
    expect(r.review.state).toBe('current');
    expect(r.allowed.map((g) => g.policy)).toEqual([
      'agents-read-tickets',
      'agents-docs',
      'writers-wiki',
    ]);
    expect(r.allowed[0]?.max_ttl_seconds).toBe(900);
    expect(r.unused.targets).toEqual(['docs', 'wiki']);
    expect(r.unused.policies).toEqual([
      { policy: 'agents-docs', target: 'docs' },
      { policy: 'writers-wiki', target: 'wiki' },
    ]);
    expect(r.used.leases).toBe(2);
    expect(r.used.live_leases).toBe(2);
    expect(r.used.truncated).toBe(false);
    expect(r.used.by_target).toEqual([expect.objectContaining({ target: 'tickets', count: 2 })]);
    expect(Date.parse(r.used.by_target[0]?.last_used ?? '')).toBeLessThanOrEqual(issuedAt);
    expect(r.used.by_scope).toEqual([
      expect.objectContaining({ target: 'tickets', scope: { scopes: ['tickets:read'] }, count: 2 }),
    ]);
    expect(r.used.by_tool).toEqual([expect.objectContaining({ tool: 'search', count: 1 })]);
    expect(r.used.by_intent).toEqual([expect.objectContaining({ intent: 'triage', count: 2 })]);
    expect(r.denied.known).toBe(true);
    expect(r.denied.by_reason).toEqual([
      expect.objectContaining({ reason: 'scope_exceeds_ceiling', count: 1 }),
    ]);
  });

  it('suggests a tighter ceiling that parses as the target’s ceiling and holds the used scope', async (ctx) => {
    if (!h) return ctx.skip();
    const r = JSON.parse((await report('agent-a')).text) as Report;
    expect(r.suggestions).toHaveLength(1);
    const [s] = r.suggestions;
    expect(s).toMatchObject({
      policy: 'agents-read-tickets',
      target: 'tickets',
      status: 'suggested',
    });
    // The pasteable snippet is the policy's entry with the new allow.
    const pasted = parse(s?.yaml ?? '') as { name: string; allow: unknown }[];
    expect(pasted[0]?.name).toBe('agents-read-tickets');
    const ceiling = jwtCeilingSchema.parse(pasted[0]?.allow);
    expect(ceiling).toEqual(s?.allow);
    expect(jwtWithin({ scopes: ['tickets:read'] }, ceiling)).toEqual({ ok: true });
    // Tighter than the configured one: what was never used is left out.
    expect(jwtWithin({ scopes: ['tickets:comment'] }, ceiling).ok).toBe(false);
  });

  it('a report and the inventory carry no credential and no handle', async (ctx) => {
    if (!h) return ctx.skip();
    const texts = [
      (await report('agent-a')).text,
      (await report('retired-bot')).text,
      await (await (h as Harness).request('/v1/workloads/inventory', { token: viewer })).text(),
    ];
    expect(secrets).toHaveLength(2);
    for (const text of texts) {
      for (const secret of secrets) {
        expect(text).not.toContain(secret);
        // Not even a piece of the signature part.
        expect(text).not.toContain(secret.split('.')[2]?.slice(0, 24));
      }
      expect(text).not.toMatch(/"(handle|token|credential|password)"/);
    }
  });

  it('inventory: every configured workload and one only the store knows, with owner, last use and live leases', async (ctx) => {
    if (!h) return ctx.skip();
    const res = await (h as Harness).request('/v1/workloads/inventory', { token: viewer });
    expect(res.status).toBe(200);
    const inv = (await res.json()) as Inventory;
    expect(inv.truncated).toBe(false);
    expect(inv.workloads.map((w) => w.workload)).toEqual([
      'agent-a',
      'agent-b',
      'retired-bot',
      'tickets-api',
    ]);
    const a = inv.workloads.find((w) => w.workload === 'agent-a');
    expect(a).toMatchObject({
      configured: true,
      owner: 'platform@example.com',
      description: 'triage agent',
      tier: 'write',
      review_by: '2099-12-31',
      review_overdue: false,
      live_leases: 2,
    });
    expect(Date.parse(a?.last_used ?? '')).toBeLessThanOrEqual(issuedAt);
    expect(Date.parse(a?.last_used ?? '')).toBeGreaterThanOrEqual(startedAt - 1_000);
    const b = inv.workloads.find((w) => w.workload === 'agent-b');
    expect(b?.last_used).toBeUndefined();
    expect(b?.live_leases).toBe(0);
    const retired = inv.workloads.find((w) => w.workload === 'retired-bot');
    expect(retired).toMatchObject({ configured: false, live_leases: 1 });
    expect(retired?.owner).toBeUndefined();
  });

  it('refuses a bad window and an unknown workload with problem codes', async (ctx) => {
    if (!h) return ctx.skip();
    for (const window of ['5m', '400d', 'soon', '30']) {
      const { status, text } = await report('agent-a', window);
      expect(status).toBe(422);
      expect(JSON.parse(text).code).toBe('invalid_request');
    }
    const missing = await report('nobody-here');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text).code).toBe('not_found');
  });

  it('the CLI prints the report, the pasteable ceiling and the inventory as JSON', async (ctx) => {
    if (!h) return ctx.skip();
    const env = { JIT_BROKER_URL: (h as Harness).broker.url, JIT_BROKER_TOKEN: viewer };
    const text = (
      await runOperatorCli(['workloads', 'report', 'agent-a', '--window', '7d'], { env })
    ).join('\n');
    expect(text).toContain('NEVER USED');
    expect(text).toContain('targets: docs, wiki');
    expect(text).toContain('- name: agents-read-tickets');
    const inv = JSON.parse(
      (await runOperatorCli(['workloads', 'report', '--all', '--output', 'json'], { env })).join(
        '\n',
      ),
    ) as Inventory;
    expect(inv.workloads.find((w) => w.workload === 'agent-a')?.owner).toBe('platform@example.com');
    const rows = await runOperatorCli(['workloads', 'report', '--all'], { env });
    expect(rows[0]).toMatch(/^WORKLOAD\s+OWNER\s+TIER\s+REVIEW BY\s+LIVE\s+LAST USED/);
    expect(rows.find((r) => r.startsWith('agent-a'))).toContain('platform@example.com');
    expect(rows.find((r) => r.startsWith('retired-bot'))).toContain('not configured');
    for (const secret of secrets) expect(text).not.toContain(secret);
    await expect(runOperatorCli(['workloads', 'report'], { env })).rejects.toThrow(/--all/);
  });
});
