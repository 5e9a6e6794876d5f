import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../../src/config/schema.js';
import { type Harness, sleep, startHarness } from '../helpers/broker-harness.js';

/** Decisions that used to outlive their authorization: renewals, feeds, shared workloads. */

const REQUEST = {
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: 'renew-1', intent: 'triage' },
};

interface Issued {
  lease_id: string;
  expires_at: string;
  credential: { token: string };
}

async function issue(h: Harness, token: string, body: object = REQUEST): Promise<Issued> {
  const res = await h.request('/v1/credentials', { method: 'POST', token, json: body });
  expect(res.status).toBe(201);
  return (await res.json()) as Issued;
}

const renew = (h: Harness, token: string, id: string, ttl?: number) =>
  h.request(`/v1/leases/${id}/renew`, {
    method: 'POST',
    token,
    json: ttl === undefined ? {} : { ttl },
  });

/** The harness's configuration with some parts replaced (a SIGHUP with an edited file). */
function edited(h: Harness, change: (config: BrokerConfig) => BrokerConfig): BrokerConfig {
  return change(structuredClone(h.config));
}

describe('a renewal is a decision', () => {
  let h: Harness;
  let agent: string;

  beforeAll(async () => {
    h = await startHarness();
    agent = await h.workloadToken('spiffe://test/agent-a');
  });
  afterAll(async () => {
    await h.close();
  });

  it('a reload that removes the grant and lowers the tier refuses renewal as it refuses issuance', async () => {
    const lease = await issue(h, agent);
    expect((await renew(h, agent, lease.lease_id)).status).toBe(200);
    const original = h.config;
    h.broker.reload(
      edited(h, (c) => ({
        ...c,
        policies: [],
        workloads: c.workloads.map((w) => (w.id === 'agent-a' ? { ...w, tier: 'read' } : w)),
      })),
    );
    try {
      const issuance = await h.request('/v1/credentials', {
        method: 'POST',
        token: agent,
        json: { ...REQUEST, task: { id: 'renew-2', intent: 'triage' } },
      });
      expect(issuance.status).toBe(403);
      const refused = await renew(h, agent, lease.lease_id);
      expect(refused.status).toBe(403);
      const problem = (await refused.json()) as { code: string; reasons: { code: string }[] };
      expect(problem.code).toBe('policy_denied');
      expect(problem.reasons[0]?.code).toBe('no_matching_policy');
      const events = await h.flushedEvents();
      const denial = events.filter((e) => e.type === 'credential.denied').at(-1);
      expect(denial).toMatchObject({ lease_id: lease.lease_id, detail: { renewal: true } });
    } finally {
      h.broker.reload(original);
    }
  });

  it('a renewal cannot reach past a max_ttl the reload lowered', async () => {
    const lease = await issue(h, agent, {
      ...REQUEST,
      ttl: 60,
      task: { id: 'renew-3', intent: 'triage' },
    });
    // The store's clock set expires_at = created + 60 s exactly.
    const createdAt = Date.parse(lease.expires_at) - 60_000;
    const original = h.config;
    h.broker.reload(
      edited(h, (c) => ({
        ...c,
        policies: c.policies.map((p) => ({ ...p, default_ttl: 60_000, max_ttl: 70_000 })),
      })),
    );
    try {
      await sleep(1_500);
      const res = await renew(h, agent, lease.lease_id, 70);
      expect(res.status).toBe(200);
      const { expires_at } = (await res.json()) as { expires_at: string };
      // Now + 70 s would be 1.5 s past the lowered bound.
      expect(Date.parse(expires_at)).toBeLessThanOrEqual(createdAt + 70_000);
    } finally {
      h.broker.reload(original);
    }
  });

  it('a frozen broker renews nothing', async () => {
    const lease = await issue(h, agent, { ...REQUEST, task: { id: 'renew-4', intent: 'triage' } });
    const admin = await h.operatorToken(['admin']);
    await h.request('/v1/freeze', { method: 'POST', token: admin, json: { reason: 'drill' } });
    try {
      const res = await renew(h, agent, lease.lease_id);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ code: 'issuance_frozen' });
    } finally {
      await h.request('/v1/freeze', { method: 'DELETE', token: admin });
    }
  });

  it("introspection reports each token's own expiry: the pre-renewal token goes inactive at its exp", async () => {
    const server = await h.workloadToken('spiffe://test/tickets-api');
    const lease = await issue(h, agent, {
      ...REQUEST,
      ttl: 2,
      task: { id: 'renew-5', intent: 'triage' },
    });
    const res = await renew(h, agent, lease.lease_id, 60);
    expect(res.status).toBe(200);
    const renewed = (await res.json()) as { credential: { token: string } };
    const introspect = async (token: string) =>
      (await (
        await h.request('/v1/introspect', {
          method: 'POST',
          token: server,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token }).toString(),
        })
      ).json()) as { active: boolean; exp?: number };
    const old = await introspect(lease.credential.token);
    expect(old.active).toBe(true);
    expect(old.exp).toBe(decodeJwt(lease.credential.token).exp);
    await sleep(2_100);
    expect(await introspect(lease.credential.token)).toEqual({ active: false });
    const fresh = await introspect(renewed.credential.token);
    expect(fresh).toMatchObject({ active: true, exp: decodeJwt(renewed.credential.token).exp });
  });
});

describe('identities sharing one workload', () => {
  for (const leaseOwner of ['workload', 'identity'] as const) {
    describe(`lease_owner: ${leaseOwner}`, () => {
      let h: Harness;
      let podOne: string;
      let podTwo: string;

      beforeAll(async () => {
        h = await startHarness({
          configure: (raw) => {
            (raw.workloads as Record<string, unknown>[]).push({
              id: 'pool',
              issuer: 'test',
              subject: 'spiffe://test/pool/*',
              tier: 'write',
              lease_owner: leaseOwner,
            });
            (raw.policies as Record<string, unknown>[]).push({
              name: 'pool-reads-tickets',
              workloads: ['pool'],
              target: 'tickets',
              allow: { scopes: ['tickets:read'] },
              intents: ['triage'],
              default_ttl: '5m',
              max_ttl: '15m',
            });
          },
        });
        podOne = await h.workloadToken('spiffe://test/pool/pod-one');
        podTwo = await h.workloadToken('spiffe://test/pool/pod-two');
      });
      afterAll(async () => {
        await h.close();
      });

      it("another identity of the workload never renews the lease (the token would name the first's subject)", async () => {
        const lease = await issue(h, podOne);
        const stolen = await renew(h, podTwo, lease.lease_id);
        expect(stolen.status).toBe(404);
        const own = await renew(h, podOne, lease.lease_id);
        expect(own.status).toBe(200);
        const { credential } = (await own.json()) as { credential: { token: string } };
        expect(decodeJwt(credential.token).act).toMatchObject({
          sub: 'spiffe://test/pool/pod-one',
        });
      });

      it(`reading and revoking by another identity: ${leaseOwner === 'identity' ? '404' : 'allowed'}`, async () => {
        const lease = await issue(h, podOne, {
          ...REQUEST,
          task: { id: 'pool-2', intent: 'triage' },
        });
        const read = await h.request(`/v1/leases/${lease.lease_id}`, { token: podTwo });
        expect(read.status).toBe(leaseOwner === 'identity' ? 404 : 200);
        const del = await h.request(`/v1/leases/${lease.lease_id}`, {
          method: 'DELETE',
          token: podTwo,
        });
        expect(del.status).toBe(leaseOwner === 'identity' ? 404 : 200);
        expect((await h.request(`/v1/leases/${lease.lease_id}`, { token: podOne })).status).toBe(
          200,
        );
      });

      it(`listing and ending a task by another identity: ${leaseOwner === 'identity' ? "never the first identity's" : 'allowed'}`, async () => {
        const task = { id: 'pool-3', intent: 'triage' };
        const lease = await issue(h, podOne, { ...REQUEST, task });
        const listed = (await (
          await h.request('/v1/leases?task=pool-3', { token: podTwo })
        ).json()) as { leases: { lease_id: string }[] };
        const seen = listed.leases.some((l) => l.lease_id === lease.lease_id);
        expect(seen).toBe(leaseOwner !== 'identity');
        const ended = await h.request('/v1/tasks/pool-3/revoke', { method: 'POST', token: podTwo });
        expect(ended.status).toBe(200);
        expect(await ended.json()).toMatchObject({ revoked: leaseOwner === 'identity' ? 0 : 1 });
        const after = (await (
          await h.request(`/v1/leases/${lease.lease_id}`, { token: podOne })
        ).json()) as { state: string };
        expect(after.state).toBe(leaseOwner === 'identity' ? 'active' : 'revoked');
        const events = await h.flushedEvents();
        expect(events.filter((e) => e.type === 'task.ended').at(-1)).toMatchObject({
          subject: 'spiffe://test/pool/pod-two',
        });
      });
    });
  }
});

describe('an event feed lasts no longer than its token', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ listen: true });
  });
  afterAll(async () => {
    await h.close();
  });

  /** Reads the feed until it ends, returning the `end` message's reason. */
  async function endOf(res: Response, withinMs: number): Promise<string | undefined> {
    const reader = res.body?.getReader();
    if (!reader) throw new Error('no body');
    const decoder = new TextDecoder();
    let text = '';
    const deadline = Date.now() + withinMs;
    try {
      while (Date.now() < deadline) {
        const chunk = await Promise.race([
          reader.read(),
          sleep(deadline - Date.now()).then(() => ({ done: true, value: undefined })),
        ]);
        if (chunk.value) text += decoder.decode(chunk.value, { stream: true });
        const ended = /event: end\ndata: (\{[^\n]*\})/.exec(text);
        if (ended?.[1]) return (JSON.parse(ended[1]) as { reason: string }).reason;
        if (chunk.done) return undefined;
      }
      return undefined;
    } finally {
      await reader.cancel().catch(() => {});
    }
  }

  it('an operator JWT that expires ends the stream at its expiry', async () => {
    const token = await h.operatorToken(['viewer'], 'short@example.com', '2s');
    const res = await h.request('/v1/events', { token });
    expect(res.status).toBe(200);
    expect(await endOf(res, 8_000)).toBe('token_expired');
  });

  it('a break-glass token removed by a reload ends the stream', async () => {
    const res = await h.request('/v1/events', { token: h.breakGlass.token });
    expect(res.status).toBe(200);
    const ending = endOf(res, 8_000);
    await sleep(200);
    const original = h.config;
    h.broker.reload(edited(h, (c) => ({ ...c, operators: { ...c.operators, break_glass: [] } })));
    try {
      expect(await ending).toBe('token_withdrawn');
    } finally {
      h.broker.reload(original);
    }
  });

  it('a reload that keeps the token keeps the stream', async () => {
    const token = await h.operatorToken(['viewer']);
    const res = await h.request('/v1/events', { token });
    const ending = endOf(res, 1_500);
    await sleep(200);
    h.broker.reload(h.config);
    expect(await ending).toBeUndefined();
  });
});
