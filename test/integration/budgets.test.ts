import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { requestTicketsRead } from '../helpers/lease-http.js';
import { redisAvailable, requireService, uniquePrefix } from '../helpers/services.js';

/**
 * Per-policy budgets shared by replicas: two brokers on one Redis prefix count against the
 * same budgets, and a spent one is a 429 with `Retry-After` naming the budget.
 */
const redisUp = await requireService('redis', await redisAvailable());

const BUDGET_POLICIES = [
  {
    name: 'rate-limited',
    workloads: ['agent-a', 'agent-b'],
    target: 'tickets',
    allow: { scopes: ['tickets:read'] },
    intents: ['rate'],
    default_ttl: '5m',
    max_ttl: '15m',
    budgets: { requests: { per_workload: 4, per_task: 2, window: '10m' } },
  },
  {
    name: 'policy-rate-limited',
    workloads: ['agent-a', 'agent-b'],
    target: 'tickets',
    allow: { scopes: ['tickets:read'] },
    intents: ['shared-rate'],
    default_ttl: '5m',
    max_ttl: '15m',
    budgets: { requests: { per_policy: 3, window: '10m' } },
  },
  {
    name: 'mixed-rate-limited',
    workloads: ['agent-a', 'agent-b'],
    target: 'tickets',
    allow: { scopes: ['tickets:read'] },
    intents: ['mixed-rate'],
    default_ttl: '5m',
    max_ttl: '15m',
    budgets: { requests: { per_workload: 1, per_policy: 2, window: '10m' } },
  },
  {
    name: 'live-limited',
    workloads: ['agent-a', 'agent-b'],
    target: 'tickets',
    allow: { scopes: ['tickets:read'] },
    intents: ['live'],
    default_ttl: '5m',
    max_ttl: '15m',
    budgets: { live_leases: { per_workload: 2, per_task: 1 } },
  },
  {
    name: 'policy-live-limited',
    workloads: ['agent-a', 'agent-b'],
    target: 'tickets',
    allow: { scopes: ['tickets:read'] },
    intents: ['shared-live'],
    default_ttl: '5m',
    max_ttl: '15m',
    budgets: { live_leases: { per_policy: 2 } },
  },
];

describe.runIf(redisUp)('budgets across two brokers on one Redis', () => {
  let one: Harness;
  let two: Harness;
  const agentA = 'spiffe://test/agent-a';
  const agentB = 'spiffe://test/agent-b';
  let n = 0;

  beforeAll(async () => {
    const prefix = uniquePrefix('bud');
    const configure = (raw: Record<string, unknown>) => {
      (raw.redis as Record<string, unknown>).key_prefix = prefix;
      (raw.policies as unknown[]).push(...BUDGET_POLICIES);
      // One audit chain per broker: they do not share a stream here.
      raw.events = { stdout: { enabled: true }, redis_stream: { enabled: false } };
    };
    one = await startHarness({ store: 'redis', configure });
    two = await startHarness({ store: 'redis', configure });
  });
  afterAll(async () => {
    await two?.close();
    await one?.close();
  });

  const taskId = () => {
    n += 1;
    return `budget-${n}`;
  };
  /** Each broker has its own test issuer keys: the token is signed for the broker asked. */
  const ask = async (h: Harness, intent: string, task: string, who = agentA) =>
    h.request('/v1/credentials', {
      method: 'POST',
      token: await h.workloadToken(who),
      json: { target: 'tickets', scope: { scopes: ['tickets:read'] }, task: { id: task, intent } },
    });
  async function refused(res: Response, budget: string): Promise<void> {
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await res.json()).toMatchObject({
      code: 'budget_exceeded',
      reasons: [{ code: budget }],
    });
  }

  it('requests per task and per workload are counted by both brokers together', async () => {
    const first = taskId();
    expect((await ask(one, 'rate', first)).status).toBe(201);
    expect((await ask(two, 'rate', first)).status).toBe(201);
    await refused(await ask(one, 'rate', first), 'requests.per_task');
    const second = taskId();
    expect((await ask(two, 'rate', second)).status).toBe(201);
    expect((await ask(one, 'rate', second)).status).toBe(201);
    // Four in the window for agent-a: a new task is refused by the workload budget.
    await refused(await ask(two, 'rate', taskId()), 'requests.per_workload');
    // Another workload has its own.
    expect((await ask(one, 'rate', taskId(), agentB)).status).toBe(201);
    const denied = (await one.flushedEvents()).filter(
      (e) => e.type === 'credential.denied' && e.reason === 'budget_exceeded',
    );
    expect(denied.length).toBeGreaterThan(0);
  });

  it('requests per policy are counted across workloads and brokers', async () => {
    expect((await ask(one, 'shared-rate', taskId())).status).toBe(201);
    expect((await ask(two, 'shared-rate', taskId(), agentB)).status).toBe(201);
    expect((await ask(one, 'shared-rate', taskId(), agentB)).status).toBe(201);
    await refused(await ask(two, 'shared-rate', taskId()), 'requests.per_policy');
  });

  it('a refused request is not counted: the other budgets keep their room', async () => {
    // agent-b's per_task budget on this task is spent by two; the third (refused) must not
    // eat into its per_workload budget of four.
    const task = taskId();
    const fresh = await startFresh();
    expect((await ask(fresh, 'rate', task, agentB)).status).toBe(201);
    expect((await ask(fresh, 'rate', task, agentB)).status).toBe(201);
    for (let i = 0; i < 3; i++)
      await refused(await ask(fresh, 'rate', task, agentB), 'requests.per_task');
    expect((await ask(fresh, 'rate', taskId(), agentB)).status).toBe(201);
    expect((await ask(fresh, 'rate', taskId(), agentB)).status).toBe(201);
    await refused(await ask(fresh, 'rate', taskId(), agentB), 'requests.per_workload');
    await fresh.close();
  });

  it('a request one owner refuses is given back by the other (workload and policy slots)', async () => {
    expect((await ask(one, 'mixed-rate', taskId())).status).toBe(201);
    // agent-a's workload budget refuses; the policy counter admitted it in the same round
    // trip and must take it back, or agent-b would find the policy budget spent.
    await refused(await ask(two, 'mixed-rate', taskId()), 'requests.per_workload');
    expect((await ask(two, 'mixed-rate', taskId(), agentB)).status).toBe(201);
    await refused(await ask(one, 'mixed-rate', taskId(), agentB), 'requests.per_workload');
  });

  it('live leases per task and per workload count what is live, across brokers', async () => {
    const task = taskId();
    const first = await ask(one, 'live', task);
    expect(first.status).toBe(201);
    const { lease_id } = (await first.json()) as { lease_id: string };
    await refused(await ask(two, 'live', task), 'live_leases.per_task');
    expect((await ask(two, 'live', taskId())).status).toBe(201);
    await refused(await ask(one, 'live', taskId()), 'live_leases.per_workload');
    // A refused request leaves no live lease behind.
    const listed = await one.request('/v1/leases?workload=agent-a&state=active', {
      token: await one.workloadToken(agentA),
    });
    const { leases } = (await listed.json()) as { leases: { policy: string }[] };
    expect(leases.filter((l) => l.policy === 'live-limited')).toHaveLength(2);

    // Revoking one frees its place: the count comes from lease state.
    const revoked = await two.request(`/v1/leases/${lease_id}`, {
      method: 'DELETE',
      token: await two.workloadToken(agentA),
    });
    expect(revoked.status).toBe(200);
    expect((await ask(one, 'live', task)).status).toBe(201);
    await refused(await ask(two, 'live', taskId()), 'live_leases.per_workload');
  });

  it('live leases per policy are shared by every workload', async () => {
    expect((await ask(one, 'shared-live', taskId())).status).toBe(201);
    expect((await ask(two, 'shared-live', taskId(), agentB)).status).toBe(201);
    await refused(await ask(one, 'shared-live', taskId(), agentB), 'live_leases.per_policy');
  });

  it('/oauth/token answers a spent budget with temporarily_unavailable and Retry-After', async () => {
    const task = taskId();
    const tokenB = await one.workloadToken(agentB);
    const exchange = () =>
      one.request('/oauth/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
          subject_token: tokenB,
          resource: 'tickets',
          scope: 'tickets:read',
          task_id: task,
          task_intent: 'live',
        }).toString(),
      });
    expect((await exchange()).status).toBe(200);
    const res = await exchange();
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await res.json()).toMatchObject({ error: 'temporarily_unavailable' });
  });

  /** A third broker on a prefix of its own, for a test that needs untouched counters. */
  function startFresh(): Promise<Harness> {
    const prefix = uniquePrefix('bud');
    return startHarness({
      store: 'redis',
      configure: (raw) => {
        (raw.redis as Record<string, unknown>).key_prefix = prefix;
        (raw.policies as unknown[]).push(...BUDGET_POLICIES);
      },
    });
  }
});

describe('budgets with the memory store', () => {
  let h: Harness;
  let agentA: string;
  beforeAll(async () => {
    h = await startHarness({
      configure: (raw) => {
        (raw.policies as unknown[]).push(...BUDGET_POLICIES);
      },
    });
    agentA = await h.workloadToken('spiffe://test/agent-a');
  });
  afterAll(async () => {
    await h.close();
  });

  it('refuses the third live lease of a task-limited policy and frees a revoked one', async () => {
    const ask = (task: string) => requestTicketsRead(h, agentA, { id: task, intent: 'live' });
    const first = await ask('m-1');
    expect(first.status).toBe(201);
    const { lease_id } = (await first.json()) as { lease_id: string };
    const second = await ask('m-1');
    expect(second.status).toBe(429);
    expect(await second.json()).toMatchObject({ reasons: [{ code: 'live_leases.per_task' }] });
    await h.request(`/v1/leases/${lease_id}`, { method: 'DELETE', token: agentA });
    expect((await ask('m-1')).status).toBe(201);
  });
});
