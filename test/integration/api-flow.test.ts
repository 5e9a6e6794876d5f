import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/events/chain.js';
import type { BrokerEvent } from '../../src/events/types.js';
import { type Harness, sleep, startHarness } from '../helpers/broker-harness.js';
import { redisAvailable, requireService } from '../helpers/services.js';

const CREDENTIAL_REQUEST = {
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: 'task-42', intent: 'triage', tool: 'list_tickets' },
};

interface Issued {
  lease_id: string;
  expires_at: string;
  credential: { token: string };
}

describe.each(['memory', 'redis'] as const)(
  'issue → introspect → revoke over HTTP (%s store)',
  (store) => {
    let h: Harness | undefined;
    const secrets: string[] = [];
    let agentA: string;
    let agentB: string;
    let api: string;

    beforeAll(async () => {
      if (store === 'redis' && !(await requireService('redis', await redisAvailable()))) return;
      h = await startHarness({ store, listen: true });
      agentA = await h.workloadToken('spiffe://test/agent-a');
      agentB = await h.workloadToken('spiffe://test/agent-b');
      api = await h.workloadToken('spiffe://test/tickets-api');
      secrets.push(agentA, agentB, api);
    });

    afterAll(async () => {
      await h?.close();
    });

    const harness = (ctx: { skip: () => void }): Harness => {
      if (!h) ctx.skip();
      return h as Harness;
    };

    async function issue(
      hh: Harness,
      token = agentA,
      body: object = CREDENTIAL_REQUEST,
    ): Promise<Issued> {
      const res = await hh.request('/v1/credentials', { method: 'POST', token, json: body });
      expect(res.status).toBe(201);
      const issued = (await res.json()) as Issued;
      secrets.push(issued.credential.token);
      return issued;
    }

    async function introspect(
      hh: Harness,
      token: string,
      caller = api,
    ): Promise<{ active: boolean; jti?: string }> {
      const res = await hh.request('/v1/introspect', {
        method: 'POST',
        token: caller,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as { active: boolean; jti?: string };
    }

    it('issues a credential, introspects it active, revokes it, and introspects it inactive', async (ctx) => {
      const hh = harness(ctx);
      const res = await hh.request('/v1/credentials', {
        method: 'POST',
        token: agentA,
        json: CREDENTIAL_REQUEST,
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const issued = (await res.json()) as Issued;
      secrets.push(issued.credential.token);
      expect(issued.lease_id).toMatch(/^lse_[0-9a-z]{28}$/);

      const active = await introspect(hh, issued.credential.token);
      expect(active).toMatchObject({
        active: true,
        jti: issued.lease_id,
        sub: 'agent-a',
        scope: 'tickets:read',
      });

      const lease = await hh.request(`/v1/leases/${issued.lease_id}`, { token: agentA });
      expect(lease.status).toBe(200);
      const view = (await lease.json()) as Record<string, unknown>;
      expect(view).toMatchObject({
        state: 'active',
        workload: 'agent-a',
        task: CREDENTIAL_REQUEST.task,
      });
      expect(JSON.stringify(view)).not.toContain(issued.credential.token);
      expect(view).not.toHaveProperty('handle');
      expect(view).not.toHaveProperty('credential');

      const revoked = await hh.request(`/v1/leases/${issued.lease_id}`, {
        method: 'DELETE',
        token: agentA,
      });
      expect(revoked.status).toBe(200);
      expect(await revoked.json()).toEqual({ lease_id: issued.lease_id, state: 'revoked' });
      expect(await introspect(hh, issued.credential.token)).toEqual({ active: false });

      const again = await hh.request(`/v1/leases/${issued.lease_id}`, {
        method: 'DELETE',
        token: agentA,
      });
      expect(again.status).toBe(200);
      const types = (await hh.flushedEvents())
        .filter((e) => e.lease_id === issued.lease_id)
        .map((e) => e.type);
      expect(types).toEqual(['credential.issued', 'lease.revoked']);
    });

    it('only a resource server of the token audience can introspect it', async (ctx) => {
      const hh = harness(ctx);
      const issued = await issue(hh);
      expect(await introspect(hh, issued.credential.token, agentB)).toEqual({ active: false });
      expect(await introspect(hh, issued.credential.token, api)).toMatchObject({ active: true });
    });

    it('the reaper revokes a lease at its expiry', async (ctx) => {
      const hh = harness(ctx);
      // 2 s: the token's `exp` is rounded down to whole seconds, so a 1 s lease could carry an
      // already-expired token.
      const issued = await issue(hh, agentA, { ...CREDENTIAL_REQUEST, ttl: 2 });
      expect(await introspect(hh, issued.credential.token)).toMatchObject({ active: true });
      let state = 'active';
      for (let i = 0; i < 60 && state !== 'expired'; i += 1) {
        await sleep(100);
        const res = await hh.request(`/v1/leases/${issued.lease_id}`, { token: agentA });
        state = ((await res.json()) as { state: string }).state;
      }
      expect(state).toBe('expired');
      expect(await introspect(hh, issued.credential.token)).toEqual({ active: false });
      const expired = (await hh.flushedEvents()).find(
        (e) => e.type === 'lease.expired' && e.lease_id === issued.lease_id,
      );
      expect(expired).toMatchObject({ reason: 'expired', workload: 'agent-a', outcome: 'success' });
    });

    it('a workload can neither read nor revoke another workload’s lease', async (ctx) => {
      const hh = harness(ctx);
      const issued = await issue(hh);
      const read = await hh.request(`/v1/leases/${issued.lease_id}`, { token: agentB });
      expect(read.status).toBe(404);
      expect(await read.json()).toMatchObject({ code: 'lease_not_found' });
      const del = await hh.request(`/v1/leases/${issued.lease_id}`, {
        method: 'DELETE',
        token: agentB,
      });
      expect(del.status).toBe(404);
      const task = await hh.request(
        `/v1/tasks/${CREDENTIAL_REQUEST.task.id}/revoke?workload=agent-a`,
        {
          method: 'POST',
          token: agentB,
        },
      );
      expect(task.status).toBe(404);
      const list = await hh.request('/v1/leases?workload=agent-a', { token: agentB });
      const listed = (await list.json()) as { leases: { workload: string }[] };
      expect(listed.leases.every((l) => l.workload === 'agent-b')).toBe(true);
      expect(await introspect(hh, issued.credential.token)).toMatchObject({ active: true });
    });

    it('ending a task revokes all of its leases and only those', async (ctx) => {
      const hh = harness(ctx);
      const task = { id: 'task-end-1', intent: 'triage' };
      const a = await issue(hh, agentA, { ...CREDENTIAL_REQUEST, task });
      const b = await issue(hh, agentA, { ...CREDENTIAL_REQUEST, task });
      const other = await issue(hh, agentA, {
        ...CREDENTIAL_REQUEST,
        task: { id: 'task-other', intent: 'triage' },
      });
      const res = await hh.request(`/v1/tasks/${task.id}/revoke`, {
        method: 'POST',
        token: agentA,
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        task: task.id,
        workload: 'agent-a',
        revoked: 2,
        failed: 0,
      });
      expect(await introspect(hh, a.credential.token)).toEqual({ active: false });
      expect(await introspect(hh, b.credential.token)).toEqual({ active: false });
      expect(await introspect(hh, other.credential.token)).toMatchObject({ active: true });
      expect(
        (await hh.flushedEvents()).some((e) => e.type === 'task.ended' && e.task?.id === task.id),
      ).toBe(true);
    });

    it('the kill switch revokes 1,000 leases of a workload in one call and blocks it', async (ctx) => {
      const hh = harness(ctx);
      const issued: Issued[] = [];
      for (let i = 0; i < 1000; i += 50) {
        issued.push(
          ...(await Promise.all(
            Array.from({ length: 50 }, (_, j) =>
              issue(hh, agentA, {
                ...CREDENTIAL_REQUEST,
                task: { id: `bulk-${i + j}`, intent: 'triage' },
              }),
            ),
          )),
        );
      }
      const bLease = await issue(hh, agentB);
      const admin = await hh.operatorToken(['revoker']);
      const res = await hh.request('/v1/workloads/agent-a/revoke', {
        method: 'POST',
        token: admin,
        json: { reason: 'incident 7', block: true },
      });
      expect(res.status).toBe(200);
      const counts = (await res.json()) as {
        revoked: number;
        revoking: number;
        failed: number;
        blocked: boolean;
      };
      expect(counts.blocked).toBe(true);
      expect(counts.failed).toBe(0);
      expect(counts.revoked + counts.revoking).toBeGreaterThanOrEqual(1000);

      const viewer = await hh.operatorToken(['viewer']);
      let active = -1;
      for (let i = 0; i < 50 && active !== 0; i += 1) {
        const list = await hh.request('/v1/leases?workload=agent-a&state=active&limit=500', {
          token: viewer,
        });
        active = ((await list.json()) as { leases: unknown[] }).leases.length;
        if (active !== 0) await sleep(100);
      }
      expect(active).toBe(0);
      for (const sample of [issued[0], issued[499], issued[999]]) {
        expect(await introspect(hh, (sample as Issued).credential.token)).toEqual({
          active: false,
        });
      }
      expect(await introspect(hh, bLease.credential.token)).toMatchObject({ active: true });

      const refused = await hh.request('/v1/credentials', {
        method: 'POST',
        token: agentA,
        json: CREDENTIAL_REQUEST,
      });
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ code: 'workload_blocked' });
      const workloads = await hh.request('/v1/workloads', { token: viewer });
      const listed = (await workloads.json()) as {
        workloads: { workload: string; blocked: boolean; live_leases: number }[];
      };
      expect(listed.workloads.find((w) => w.workload === 'agent-a')).toMatchObject({
        blocked: true,
      });
      // Every lease revoked by the kill switch is an event, even when its events are chained
      // after the answer.
      let perLease = 0;
      for (let i = 0; i < 50 && perLease < 1000; i += 1) {
        const issuedIds = new Set(issued.map((x) => x.lease_id));
        perLease = (await hh.flushedEvents()).filter(
          (e) =>
            e.type === 'lease.revoked' &&
            e.reason === 'workload_revoked' &&
            issuedIds.has(e.lease_id ?? ''),
        ).length;
        if (perLease < 1000) await sleep(20);
      }
      expect(perLease).toBe(1000);
      const killEvent = (await hh.flushedEvents()).find(
        (e) => e.type === 'workload.revoked' && e.workload === 'agent-a',
      );
      expect(killEvent).toMatchObject({
        actor: 'alice@example.com',
        reason: 'incident 7',
        severity: 'high',
      });

      const revoker = await hh.operatorToken(['revoker']);
      const notAdmin = await hh.request('/v1/workloads/agent-a/unblock', {
        method: 'POST',
        token: revoker,
      });
      expect(notAdmin.status).toBe(403);
      const adminToken = await hh.operatorToken(['admin']);
      const unblock = await hh.request('/v1/workloads/agent-a/unblock', {
        method: 'POST',
        token: adminToken,
      });
      expect(await unblock.json()).toEqual({ workload: 'agent-a', unblocked: true });
      await issue(hh);
    });

    it('the event chain verifies and no secret appears in any event or log line', async (ctx) => {
      const hh = harness(ctx);
      const events = await hh.flushedEvents();
      const genesis = events[0] as BrokerEvent;
      expect(genesis.type).toBe('chain.genesis');
      const key = (genesis.detail as { public_key: Parameters<typeof verifyChain>[1] }).public_key;
      expect(verifyChain(events, key)).toEqual({ ok: true });
      expect(secrets.length).toBeGreaterThan(1000);
      const everything = hh.events.text + hh.logs.text;
      for (const secret of secrets) expect(everything.includes(secret)).toBe(false);
      // The signature part of a JWT alone must not leak either.
      for (const secret of secrets.slice(0, 20))
        expect(everything.includes(secret.split('.')[2] as string)).toBe(false);
    });
  },
);
