import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../../src/config/schema.js';
import type { BrokerEvent } from '../../src/events/types.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { REDIS_URL, redisAvailable, requireService } from '../helpers/services.js';

/**
 * Human approval bound to the exact request, over HTTP, against both approval stores (the
 * Redis one shared by replicas, the memory one of `dev`): grant, deny, expiry, digest
 * mismatch, single use, a reload that voids it, and who may decide.
 */
const APPROVAL_POLICY = {
  name: 'escalations-need-approval',
  workloads: ['agent-a', 'agent-b'],
  target: 'tickets',
  allow: { scopes: ['tickets:read', 'tickets:comment'] },
  intents: ['escalate'],
  default_ttl: '5m',
  max_ttl: '15m',
  approval: { required: true, expires_after: '2m' },
};

const REQUEST = {
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: 'esc-1', intent: 'escalate', tool: 'close_ticket' },
};

interface Pending {
  approval_id: string;
  status: string;
  expires_at: string;
}

let webhookBodies: string[] = [];
let webhookArrived: (() => void) | undefined;
const webhook = createServer((req: IncomingMessage, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => {
    body += chunk.toString('utf8');
  });
  req.on('end', () => {
    webhookBodies.push(body);
    webhookArrived?.();
    res.writeHead(204).end();
  });
});

beforeAll(async () => {
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', () => r()));
});
afterAll(async () => {
  await new Promise<void>((r) => webhook.close(() => r()));
});

// Fails under CI without Redis; elsewhere the Redis half is skipped with a warning.
const redisUp = await requireService('redis', await redisAvailable());
const STORES = redisUp ? (['redis', 'memory'] as const) : (['memory'] as const);

describe.each(STORES)('approvals (%s store)', (store) => {
  // Expiry by the store's clock and races between replicas exist on Redis only: those tests
  // are defined for that store alone, rather than reported as skipped for the other.
  const redisOnly = (store === 'redis' ? it : () => undefined) as typeof it;
  let h: Harness;
  let agentA: string;
  let agentB: string;
  let approver: string;
  let redis: Redis | undefined;
  let n = 0;

  beforeAll(async () => {
    const port = (webhook.address() as AddressInfo).port;
    h = await startHarness({
      store,
      configure: (raw) => {
        (raw.policies as unknown[]).push(APPROVAL_POLICY);
        raw.approvals = { webhook: `http://127.0.0.1:${port}/hook`, webhook_timeout: '2s' };
      },
    });
    agentA = await h.workloadToken('spiffe://test/agent-a');
    agentB = await h.workloadToken('spiffe://test/agent-b');
    approver = await h.operatorToken(['approver'], 'bob@example.com');
    if (store === 'redis') redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    redis?.disconnect();
    await h?.close();
  });

  /** A request of REQUEST's shape with its own task id, so tests do not share digests. */
  function fresh(overrides: Partial<typeof REQUEST> = {}) {
    n += 1;
    return { ...REQUEST, task: { ...REQUEST.task, id: `esc-${store}-${n}` }, ...overrides };
  }
  const ask = (body: unknown, token = agentA) =>
    h.request('/v1/credentials', { method: 'POST', token, json: body });
  const decide = (id: string, how: 'approve' | 'deny', token = approver, reason = 'on call ok') =>
    h.request(`/v1/approvals/${id}/${how}`, { method: 'POST', token, json: { reason } });
  async function pending(body: unknown, token = agentA): Promise<Pending> {
    const res = await ask(body, token);
    expect(res.status).toBe(202);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    return (await res.json()) as Pending;
  }
  const eventsOf = async (id: string): Promise<BrokerEvent[]> =>
    (await h.flushedEvents()).filter(
      (e) => (e.detail as { approval_id?: string } | undefined)?.approval_id === id,
    );

  /** Moves an approval's window into the past, as time would. */
  async function expire(id: string): Promise<void> {
    if (!redis) throw new Error('expire() runs only against Redis');
    const key = `${h.config.redis.key_prefix}:{${id.slice(4, 6)}}:approval:${id}`;
    expect(await redis.exists(key)).toBe(1);
    await redis.hset(key, 'e', String(Date.now() - 1_000));
  }

  it('waits with 202, tells approvers, and hands the credential out once an approver said yes', async () => {
    const body = fresh();
    webhookBodies = [];
    const told = new Promise<void>((r) => {
      webhookArrived = r;
    });
    const first = await ask(body);
    expect(first.status).toBe(202);
    expect(first.headers.get('retry-after')).toBe('5');
    const wait = (await first.json()) as Pending;
    expect(wait).toEqual({
      approval_id: expect.stringMatching(/^apr_[0-9a-z]{28}$/),
      status: 'pending',
      expires_at: expect.any(String),
    });
    // Asking again before a decision: the same approval, still pending.
    expect((await pending(body)).approval_id).toBe(wait.approval_id);

    await told;
    const hook = JSON.parse(webhookBodies[0] ?? '{}') as { type: string; approval: unknown };
    expect(hook).toMatchObject({
      type: 'approval.requested',
      approval: { approval_id: wait.approval_id, workload: 'agent-a', status: 'pending' },
    });
    expect(webhookBodies[0]).not.toContain(agentA);

    const polled = await h.request(`/v1/approvals/${wait.approval_id}`, { token: agentA });
    expect(polled.status).toBe(200);
    expect(await polled.json()).toMatchObject({ status: 'pending', task: body.task });

    const approved = await decide(wait.approval_id, 'approve');
    expect(approved.status).toBe(200);
    expect(await approved.json()).toMatchObject({
      status: 'approved',
      decided_by: 'bob@example.com',
      reason: 'on call ok',
    });

    const issued = await ask(body);
    expect(issued.status).toBe(201);
    const { lease_id, credential } = (await issued.json()) as {
      lease_id: string;
      credential: { token: string };
    };
    const after = await h.request(`/v1/approvals/${wait.approval_id}`, { token: approver });
    expect(await after.json()).toMatchObject({ status: 'used' });

    const events = await eventsOf(wait.approval_id);
    expect(events.map((e) => e.type)).toEqual([
      'approval.requested',
      'approval.granted',
      'approval.used',
    ]);
    expect(events[1]).toMatchObject({ actor: 'bob@example.com', reason: 'on call ok' });
    expect(events[2]).toMatchObject({ lease_id });
    const text = JSON.stringify(events);
    expect(text).not.toContain(credential.token);
    expect(text).not.toContain(agentA);
  });

  it('is single use: the same request after collection waits for a new approval', async () => {
    const body = fresh();
    const wait = await pending(body);
    expect((await decide(wait.approval_id, 'approve')).status).toBe(200);
    expect((await ask(body)).status).toBe(201);
    const again = await pending(body);
    expect(again.approval_id).not.toBe(wait.approval_id);
  });

  it('is bound to the exact request: another scope, task, tool, ttl or workload gets nothing', async () => {
    const body = fresh();
    const wait = await pending(body);
    expect((await decide(wait.approval_id, 'approve')).status).toBe(200);
    const variants = [
      { ...body, scope: { scopes: ['tickets:comment'] } },
      { ...body, scope: { scopes: ['tickets:read', 'tickets:comment'] } },
      { ...body, task: { ...body.task, id: `${body.task.id}-other` } },
      { ...body, task: { ...body.task, tool: 'delete_ticket' } },
      { ...body, task: { id: body.task.id, intent: body.task.intent } },
      { ...body, ttl: 60 },
    ];
    for (const variant of variants) {
      const other = await pending(variant);
      expect(other.approval_id).not.toBe(wait.approval_id);
    }
    // agent-b repeating agent-a's request word for word waits on its own approval.
    const stranger = await pending(body, agentB);
    expect(stranger.approval_id).not.toBe(wait.approval_id);
    // None of them consumed it: the exact request still collects.
    expect((await ask(body)).status).toBe(201);
  });

  it('a denial refuses the same request with approval_denied', async () => {
    const body = fresh();
    const wait = await pending(body);
    const denied = await decide(wait.approval_id, 'deny', approver, 'not during the freeze');
    expect(denied.status).toBe(200);
    expect(await denied.json()).toMatchObject({ status: 'denied' });
    const refused = await ask(body);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'approval_denied' });
    // Decided once: approving afterwards is a conflict.
    const late = await decide(wait.approval_id, 'approve');
    expect(late.status).toBe(409);
    expect(await late.json()).toMatchObject({ code: 'approval_not_pending' });
    const types = (await eventsOf(wait.approval_id)).map((e) => e.type);
    expect(types).toEqual(['approval.requested', 'approval.denied']);
  });

  it('the requesting workload cannot approve, nor an operator under its subject, nor a viewer or revoker', async () => {
    const body = fresh();
    const wait = await pending(body);
    // The workload's own token is no operator token.
    expect((await decide(wait.approval_id, 'approve', agentA)).status).toBe(401);
    // An approver whose subject is the requesting workload's.
    const self = await h.operatorToken(['approver'], 'spiffe://test/agent-a');
    const selfApproval = await decide(wait.approval_id, 'approve', self);
    expect(selfApproval.status).toBe(403);
    expect(await selfApproval.json()).toMatchObject({ code: 'approval_self' });
    for (const role of ['viewer', 'revoker']) {
      const res = await decide(wait.approval_id, 'approve', await h.operatorToken([role]));
      expect(res.status, role).toBe(403);
    }
    // A reason is required.
    expect((await decide(wait.approval_id, 'approve', approver, '')).status).toBe(422);
    // Still pending: nothing above decided it, and the workload still waits.
    expect((await pending(body)).approval_id).toBe(wait.approval_id);
    // An admin may decide.
    const admin = await h.operatorToken(['admin'], 'carol@example.com');
    expect((await decide(wait.approval_id, 'approve', admin)).status).toBe(200);
  });

  it('another workload cannot read or list an approval it did not ask for', async () => {
    const wait = await pending(fresh());
    expect((await h.request(`/v1/approvals/${wait.approval_id}`, { token: agentB })).status).toBe(
      404,
    );
    const listed = await h.request('/v1/approvals?workload=agent-a', { token: agentB });
    const { approvals } = (await listed.json()) as { approvals: { approval_id: string }[] };
    expect(approvals.map((a) => a.approval_id)).not.toContain(wait.approval_id);
    const all = await h.request('/v1/approvals?status=pending&workload=agent-a', {
      token: approver,
    });
    const seen = (await all.json()) as { approvals: { approval_id: string; status: string }[] };
    expect(seen.approvals.map((a) => a.approval_id)).toContain(wait.approval_id);
    expect(seen.approvals.every((a) => a.status === 'pending')).toBe(true);
  });

  it("an id that is not an approval, or nobody's, is approval_not_found; a long reason is refused", async () => {
    for (const id of [
      'apr_0000000000000000000000000000',
      'lse_abc',
      'apr_..%2F..',
      'x'.repeat(64),
    ]) {
      const read = await h.request(`/v1/approvals/${id}`, { token: approver });
      expect(read.status, id).toBe(404);
      const approve = await decide(id, 'approve');
      expect(approve.status, id).toBe(404);
      expect(await approve.json()).toMatchObject({ code: 'approval_not_found' });
    }
    const wait = await pending(fresh());
    expect((await decide(wait.approval_id, 'approve', approver, 'x'.repeat(501))).status).toBe(422);
    expect((await pending(fresh())).status).toBe('pending');
  });

  it('a reload that changes the deciding policy voids its approvals', async () => {
    const body = fresh();
    const approvedBefore = await pending(body);
    expect((await decide(approvedBefore.approval_id, 'approve')).status).toBe(200);
    const undecided = await pending(fresh());
    const original = h.config;
    const changed: BrokerConfig = {
      ...original,
      policies: original.policies.map((p) =>
        p.name === APPROVAL_POLICY.name ? { ...p, max_ttl: 600_000 } : p,
      ),
    };
    h.broker.reload(changed);
    try {
      // The approved one no longer matches: the request waits for a new approval.
      const again = await pending(body);
      expect(again.approval_id).not.toBe(approvedBefore.approval_id);
      // An approval asked under the old policy cannot be approved now.
      const stale = await decide(undecided.approval_id, 'approve');
      expect(stale.status).toBe(409);
      expect(await stale.json()).toMatchObject({ code: 'approval_void' });
    } finally {
      h.broker.reload(original);
    }
  });

  it('/oauth/token answers authorization_pending (RFC 8628), then the token once approved', async () => {
    n += 1;
    const exchange = () =>
      h.request('/oauth/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
          subject_token: agentA,
          resource: 'tickets',
          scope: 'tickets:read',
          task_id: `oauth-${store}-${n}`,
          task_intent: 'escalate',
        }).toString(),
      });
    const first = await exchange();
    expect(first.status).toBe(400);
    expect(first.headers.get('retry-after')).toBe('5');
    expect(first.headers.get('cache-control')).toBe('no-store');
    const body = (await first.json()) as { error: string; approval_id: string; interval: number };
    expect(body).toMatchObject({ error: 'authorization_pending', interval: 5 });
    expect((await decide(body.approval_id, 'approve')).status).toBe(200);
    const second = await exchange();
    expect(second.status).toBe(200);
    expect(await second.json()).toMatchObject({ access_token: expect.any(String) });
    const third = await exchange();
    expect(third.status).toBe(400);
    expect(await third.json()).toMatchObject({ error: 'authorization_pending' });
  });

  redisOnly(
    'expires: a pending one cannot be approved, an approved one cannot be collected',
    async () => {
      const body = fresh();
      const wait = await pending(body);
      await expire(wait.approval_id);
      const late = await decide(wait.approval_id, 'approve');
      expect(late.status).toBe(409);
      expect(await late.json()).toMatchObject({ code: 'approval_not_pending' });
      const read = await h.request(`/v1/approvals/${wait.approval_id}`, { token: agentA });
      expect(await read.json()).toMatchObject({ status: 'expired' });
      // The request asks anew.
      const next = await pending(body);
      expect(next.approval_id).not.toBe(wait.approval_id);

      expect((await decide(next.approval_id, 'approve')).status).toBe(200);
      await expire(next.approval_id);
      const third = await pending(body);
      expect(third.approval_id).not.toBe(next.approval_id);
      expect((await eventsOf(next.approval_id)).map((e) => e.type)).toEqual([
        'approval.requested',
        'approval.granted',
        'approval.expired',
      ]);
    },
  );

  redisOnly('two collections of one approval at once hand out one credential', async () => {
    const body = fresh();
    const wait = await pending(body);
    expect((await decide(wait.approval_id, 'approve')).status).toBe(200);
    const results = await Promise.all([ask(body), ask(body), ask(body), ask(body)]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 202, 202, 202]);
  });
});

describe.each(STORES)('approvals are bounded (%s store)', (store) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      store,
      configure: (raw) => {
        (raw.policies as unknown[]).push(APPROVAL_POLICY);
        raw.approvals = { max_pending: 3, max_pending_per_workload: 2 };
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a workload beyond max_pending_per_workload, or anyone beyond max_pending, gets 429 approvals_full', async () => {
    const ask = async (who: 'agent-a' | 'agent-b', task: string) =>
      h.request('/v1/credentials', {
        method: 'POST',
        token: await h.workloadToken(`spiffe://test/${who}`),
        json: { ...REQUEST, task: { ...REQUEST.task, id: task } },
      });
    const full = async (res: Response) => {
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await res.json()).toMatchObject({ code: 'approvals_full' });
    };
    expect((await ask('agent-a', 'a-1')).status).toBe(202);
    const a2 = await ask('agent-a', 'a-2');
    expect(a2.status).toBe(202);
    // agent-a holds its two places; agent-b still gets one…
    await full(await ask('agent-a', 'a-3'));
    expect((await ask('agent-b', 'b-1')).status).toBe(202);
    // …and then all three are taken.
    await full(await ask('agent-b', 'b-2'));
    // One already waiting still answers with its approval.
    expect((await ask('agent-a', 'a-1')).status).toBe(202);
    // A decision frees a place.
    const { approval_id } = (await a2.json()) as { approval_id: string };
    const deny = await h.request(`/v1/approvals/${approval_id}/deny`, {
      method: 'POST',
      token: await h.operatorToken(['approver']),
      json: { reason: 'no' },
    });
    expect(deny.status).toBe(200);
    expect((await ask('agent-b', 'b-2')).status).toBe(202);
  });
});
