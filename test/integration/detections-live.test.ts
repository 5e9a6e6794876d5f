import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DetectionEngine } from '../../src/detections/engine.js';
import { MemoryDetectionState } from '../../src/detections/memory-state.js';
import type { BrokerEvent } from '../../src/events/types.js';
import { type Harness, startHarness, WORKLOAD_ISSUER } from '../helpers/broker-harness.js';
import { makeKey, signToken } from '../helpers/identity-support.js';
import {
  eventually,
  leaseState,
  requestTicketsRead,
  revokeWorkload,
} from '../helpers/lease-http.js';
import { redisAvailable, requireService } from '../helpers/services.js';

/*
 * Detections on the live path: a real broker on the machine's Redis evaluates the events it
 * emits, and blocks, holds or only reports as each rule says.
 */

const ready = await requireService('redis', await redisAvailable());

const task = (id: string) => ({ id, intent: 'triage' });
/** A scope beyond the policy's ceiling (`tickets:read`, `tickets:comment`). */
const beyond = (h: Harness, token: string, id: string) =>
  h.request('/v1/credentials', {
    method: 'POST',
    token,
    json: { target: 'tickets', scope: { scopes: ['tickets:admin'] }, task: task(id) },
  });

function withRules(rules: object[]) {
  return (raw: Record<string, unknown>) => {
    raw.detections = rules;
  };
}

const fired = (events: BrokerEvent[]) => events.filter((e) => e.type === 'detection.fired');

describe.skipIf(!ready)('detections on the live path', () => {
  const open: Harness[] = [];
  afterEach(async () => {
    for (const h of open.splice(0)) await h.close();
  });
  async function start(rules: object[], configure?: (raw: Record<string, unknown>) => void) {
    const h = await startHarness({
      store: 'redis',
      allowProviderModules: true,
      configure(raw) {
        withRules(rules)(raw);
        configure?.(raw);
      },
    });
    open.push(h);
    return h;
  }

  it('a burst of scope-escalation attempts blocks the workload and revokes its leases', async () => {
    const h = await start([
      {
        name: 'escalation',
        kind: 'scope_escalation',
        count: 3,
        window: '1m',
        actions: ['alert', 'block'],
      },
    ]);
    const agent = await h.workloadToken('spiffe://test/agent-a');
    const granted = await requestTicketsRead(h, agent, task('t-ok'));
    expect(granted.status).toBe(201);
    const { lease_id: leaseId } = (await granted.json()) as { lease_id: string };
    for (let i = 0; i < 3; i++) expect((await beyond(h, agent, `t-${i}`)).status).toBe(403);

    const operator = await h.operatorToken(['viewer']);
    expect(
      await eventually(async () => (await leaseState(h, operator, leaseId)) === 'revoked'),
    ).toBe(true);
    const refused = await requestTicketsRead(h, agent, task('t-after'));
    expect(((await refused.json()) as { code: string }).code).toBe('workload_blocked');

    const events = await h.flushedEvents();
    const [fire, ...more] = fired(events);
    expect(more).toHaveLength(0);
    expect(fire?.severity).toBe('high');
    expect(fire?.workload).toBe('agent-a');
    const detail = fire?.detail as Record<string, unknown>;
    expect(detail).toMatchObject({ rule: 'escalation', kind: 'scope_escalation', mode: 'enforce' });
    expect((detail.events as unknown[]).length).toBe(3);
    expect(detail.evidence).toMatchObject({ count: 3, threshold: 3, window_ms: 60_000 });
    expect(detail.taken).toMatchObject({ alert: true, block: { failed: 0 } });
    const denials = events.filter(
      (e) => e.type === 'credential.denied' && e.reason === 'scope_exceeds_ceiling',
    );
    expect((detail.events as { id: string }[]).map((e) => e.id)).toEqual(denials.map((e) => e.id));
    const revoked = events.find((e) => e.type === 'workload.revoked');
    expect(revoked).toMatchObject({
      reason: 'detection:escalation',
      actor: 'detection:escalation',
    });
    // The other workload is untouched.
    const other = await requestTicketsRead(
      h,
      await h.workloadToken('spiffe://test/agent-b'),
      task('b'),
    );
    expect(other.status).toBe(201);
    // No secret in the firing: no token, no credential.
    expect(JSON.stringify(fire)).not.toMatch(/eyJ[A-Za-z0-9_-]+\./);
    expect(JSON.stringify(fire)).not.toContain(agent);
  });

  it('under dry_run the same history fires the event and changes nothing', async () => {
    const h = await start([
      {
        name: 'escalation',
        kind: 'scope_escalation',
        count: 3,
        window: '1m',
        actions: ['alert', 'block', 'require_approval'],
        mode: 'dry_run',
      },
    ]);
    const agent = await h.workloadToken('spiffe://test/agent-a');
    const granted = await requestTicketsRead(h, agent, task('t-ok'));
    const { lease_id: leaseId } = (await granted.json()) as { lease_id: string };
    for (let i = 0; i < 3; i++) await beyond(h, agent, `t-${i}`);
    expect(await eventually(async () => fired(await h.flushedEvents()).length === 1)).toBe(true);
    const [fire] = fired(await h.flushedEvents());
    expect(fire?.detail).toMatchObject({ mode: 'dry_run', taken: {} });
    expect(await leaseState(h, await h.operatorToken(['viewer']), leaseId)).toBe('active');
    expect((await requestTicketsRead(h, agent, task('t-after'))).status).toBe(201);
    expect((await h.flushedEvents()).some((e) => e.type === 'workload.revoked')).toBe(false);
  });

  it('one incident is one action: the cool-down holds further firings back', async () => {
    const h = await start([
      {
        name: 'burst',
        kind: 'denial_burst',
        count: 2,
        window: '1m',
        cooldown: '1h',
        actions: ['alert'],
      },
    ]);
    const agent = await h.workloadToken('spiffe://test/agent-a');
    for (let i = 0; i < 8; i++) await beyond(h, agent, `t-${i}`);
    expect(await eventually(async () => fired(await h.flushedEvents()).length >= 1)).toBe(true);
    await h.broker.events.flush();
    // Every denial has been evaluated once the last one's firing could have been recorded.
    const denials = (await h.flushedEvents()).filter((e) => e.type === 'credential.denied');
    expect(denials).toHaveLength(8);
    await new Promise((r) => setTimeout(r, 300));
    expect(fired(await h.flushedEvents())).toHaveLength(1);
  });

  it('require_approval makes the next request wait for an approver', async () => {
    const h = await start([
      {
        name: 'hold',
        kind: 'scope_escalation',
        count: 2,
        window: '1m',
        actions: ['require_approval'],
      },
    ]);
    const agent = await h.workloadToken('spiffe://test/agent-a');
    expect((await requestTicketsRead(h, agent, task('before'))).status).toBe(201);
    for (let i = 0; i < 2; i++) await beyond(h, agent, `t-${i}`);
    expect(await eventually(async () => fired(await h.flushedEvents()).length === 1)).toBe(true);
    const held = await requestTicketsRead(h, agent, task('after'));
    expect(held.status).toBe(202);
    const { approval_id: approvalId } = (await held.json()) as { approval_id: string };
    // An approver's yes lets the same request through.
    const decided = await h.request(`/v1/approvals/${approvalId}/approve`, {
      method: 'POST',
      token: await h.operatorToken(['approver'], 'bob@example.com'),
      json: { reason: 'checked with the team' },
    });
    expect(decided.status).toBe(200);
    expect((await requestTicketsRead(h, agent, task('after'))).status).toBe(201);
    // Another workload is not held.
    const other = await requestTicketsRead(
      h,
      await h.workloadToken('spiffe://test/agent-b'),
      task('b'),
    );
    expect(other.status).toBe(201);
  });

  it('a held workload cannot renew a lease issued before the hold', async () => {
    const h = await start([
      {
        name: 'hold',
        kind: 'scope_escalation',
        count: 2,
        window: '1m',
        actions: ['require_approval'],
      },
    ]);
    const agent = await h.workloadToken('spiffe://test/agent-a');
    const issued = await requestTicketsRead(h, agent, task('before'));
    expect(issued.status).toBe(201);
    const { lease_id: leaseId } = (await issued.json()) as { lease_id: string };
    for (let i = 0; i < 2; i++) await beyond(h, agent, `t-${i}`);
    expect(await eventually(async () => fired(await h.flushedEvents()).length === 1)).toBe(true);
    const renewed = await h.request(`/v1/leases/${leaseId}/renew`, {
      method: 'POST',
      token: agent,
      json: { ttl: 600 },
    });
    expect(renewed.status).toBe(403);
    expect(((await renewed.json()) as { code: string }).code).toBe('policy_denied');
    const denied = (await h.flushedEvents()).filter(
      (e) => e.type === 'credential.denied' && e.detail?.renewal === true,
    );
    expect(denied).toHaveLength(1);
  });

  it('an admin lifts a hold before it ends: listed while it stands, the release names the operator', async () => {
    const h = await start([
      {
        name: 'hold',
        kind: 'scope_escalation',
        count: 2,
        window: '1m',
        actions: ['require_approval'],
        hold_for: '1h',
      },
    ]);
    const agent = await h.workloadToken('spiffe://test/agent-a');
    const viewer = await h.operatorToken(['viewer']);
    const holdOf = async (workload: string) =>
      (await (await h.request(`/v1/workloads/${workload}/hold`, { token: viewer })).json()) as {
        hold: { rule: string; until: string } | null;
      };
    expect((await holdOf('agent-a')).hold).toBeNull();
    for (let i = 0; i < 2; i++) await beyond(h, agent, `t-${i}`);
    expect(await eventually(async () => (await holdOf('agent-a')).hold !== null)).toBe(true);
    const { hold } = await holdOf('agent-a');
    expect(hold?.rule).toBe('hold');
    expect(Date.parse(hold?.until ?? '') - Date.now()).toBeGreaterThan(50 * 60_000);
    expect((await holdOf('agent-b')).hold).toBeNull();
    expect((await requestTicketsRead(h, agent, task('held'))).status).toBe(202);

    const release = (token: string) =>
      h.request('/v1/workloads/agent-a/hold', { method: 'DELETE', token });
    const admin = await h.operatorToken(['admin'], 'carol@example.com');
    const lifted = await release(admin);
    expect(lifted.status).toBe(200);
    expect(await lifted.json()).toEqual({ workload: 'agent-a', released: true });
    expect((await holdOf('agent-a')).hold).toBeNull();
    expect((await requestTicketsRead(h, agent, task('free'))).status).toBe(201);
    // Nothing left to lift: no second event.
    expect(await (await release(admin)).json()).toEqual({ workload: 'agent-a', released: false });
    const events = await h.flushedEvents();
    const released = events.filter((e) => e.type === 'detection.hold_released');
    expect(released).toHaveLength(1);
    expect(released[0]).toMatchObject({
      workload: 'agent-a',
      actor: 'carol@example.com',
      reason: 'detection:hold',
      detail: { rule: 'hold' },
    });
  });

  it('break-glass stays usable after a block, and operator actions are never inputs', async () => {
    const h = await start([
      {
        name: 'burst',
        kind: 'denial_burst',
        count: 2,
        window: '1m',
        cooldown: '1s',
        actions: ['block'],
      },
    ]);
    const agent = await h.workloadToken('spiffe://test/agent-a');
    for (let i = 0; i < 2; i++) await beyond(h, agent, `t-${i}`);
    expect(
      await eventually(async () =>
        (await h.flushedEvents()).some((e) => e.type === 'workload.blocked'),
      ),
    ).toBe(true);
    // Refusals of the blocked workload are the block's doing, not a new incident.
    for (let i = 0; i < 4; i++) await requestTicketsRead(h, agent, task(`blocked-${i}`));
    const unblock = await h.request('/v1/workloads/agent-a/unblock', {
      method: 'POST',
      token: h.breakGlass.token,
      json: { reason: 'false positive' },
    });
    expect(unblock.status).toBe(200);
    expect((await requestTicketsRead(h, agent, task('again'))).status).toBe(201);
    await new Promise((r) => setTimeout(r, 300));
    const events = await h.flushedEvents();
    expect(events.filter((e) => e.type === 'workload.blocked')).toHaveLength(1);
    expect(fired(events)).toHaveLength(1);
  });

  it("tokens forged in a workload's name never block it: only a verified subject counts", async () => {
    const h = await start([
      { name: 'bad-tokens', kind: 'auth_failures', count: 2, window: '1m', actions: ['block'] },
    ]);
    const agent = await h.workloadToken('spiffe://test/agent-a');
    // The victim's issuer, subject and key id, signed with the attacker's own key.
    const attacker = await makeKey('w1');
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 6; i++) {
      const forged = await signToken(attacker, {
        iss: WORKLOAD_ISSUER,
        aud: 'jit-broker',
        sub: 'spiffe://test/agent-a',
        iat: now,
        exp: now + 600,
        jti: `forged-${i}`,
      });
      expect((await requestTicketsRead(h, forged, task(`f-${i}`))).status).toBe(401);
    }
    await new Promise((r) => setTimeout(r, 300));
    const events = await h.flushedEvents();
    expect(events.filter((e) => e.type === 'auth.failed').length).toBeGreaterThanOrEqual(6);
    expect(fired(events)).toHaveLength(0);
    expect(events.some((e) => e.type === 'workload.blocked')).toBe(false);
    expect((await requestTicketsRead(h, agent, task('still-fine'))).status).toBe(201);
  });

  it('a revocation its target does not confirm raises one alert for the kill switch', async () => {
    const keeper = resolve(import.meta.dirname, '../fixtures/keeping-provider.ts');
    const h = await start(
      [{ name: 'kept', kind: 'revocation_unverified', cooldown: '10m' }],
      (raw) => {
        (raw.targets as unknown[]).push({
          name: 'module-keeps',
          provider: 'module',
          module: keeper,
          keeps: true,
        });
        (raw.policies as unknown[]).push({
          name: 'keeps',
          workloads: ['agent-a'],
          target: 'module-keeps',
          allow: { names: ['db'] },
          intents: ['triage'],
          default_ttl: '5m',
          max_ttl: '15m',
        });
      },
    );
    const agent = await h.workloadToken('spiffe://test/agent-a');
    for (const id of ['k1', 'k2']) {
      const res = await h.request('/v1/credentials', {
        method: 'POST',
        token: agent,
        json: { target: 'module-keeps', scope: { name: 'db' }, task: task(id) },
      });
      expect(res.status).toBe(201);
    }
    await revokeWorkload(h, 'agent-a');
    await h.broker.verifier.idle();
    expect(
      await eventually(async () =>
        fired(await h.flushedEvents()).some((e) => e.workload === 'agent-a'),
      ),
    ).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    const events = await h.flushedEvents();
    const unverified = events.filter((e) => e.type === 'revocation.unverified');
    expect(unverified).toHaveLength(2);
    const [fire, ...more] = fired(events);
    expect(more).toHaveLength(0);
    expect(fire?.severity).toBe('high');
    expect(fire?.detail).toMatchObject({
      rule: 'kept',
      kind: 'revocation_unverified',
      actions: ['alert'],
      taken: { alert: true },
      evidence: { target: 'module-keeps', revoke_reason: 'workload_revoked' },
    });
    const trigger = (fire?.detail as { trigger?: { id: string } } | undefined)?.trigger?.id;
    expect(unverified.map((e) => e.id)).toContain(trigger);
  });

  it('replay of the recorded history fires what the live path fired', async () => {
    const rules = [
      {
        name: 'burst',
        kind: 'denial_burst',
        count: 3,
        window: '1m',
        cooldown: '1m',
        actions: ['alert'],
      },
      { name: 'new-target', kind: 'first_seen', of: 'scope', days: 7, actions: ['alert'] },
      {
        name: 'escalation',
        kind: 'scope_escalation',
        count: 2,
        window: '1m',
        actions: ['alert'],
        mode: 'dry_run',
      },
    ];
    const h = await start(rules);
    const a = await h.workloadToken('spiffe://test/agent-a');
    const b = await h.workloadToken('spiffe://test/agent-b');
    await requestTicketsRead(h, a, task('r1'));
    for (let i = 0; i < 7; i++) await beyond(h, i % 2 ? a : b, `x-${i}`);
    await h.request('/v1/credentials', {
      method: 'POST',
      token: a,
      json: { target: 'tickets', scope: { scopes: ['tickets:comment'] }, task: task('c') },
    });
    expect(await eventually(async () => fired(await h.flushedEvents()).length >= 4)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    const events = await h.flushedEvents();
    const live = fired(events).map((e) => {
      const d = e.detail as { rule: string; trigger: { id: string } };
      return `${d.rule} ${e.workload} ${d.trigger.id}`;
    });
    const engine = new DetectionEngine({
      rules: h.config.detections,
      workloads: h.config.workloads,
      state: new MemoryDetectionState(),
    });
    const replayed: string[] = [];
    for (const event of events) {
      for (const f of await engine.observe(event))
        replayed.push(`${f.rule} ${f.workload} ${f.trigger.id}`);
    }
    expect(replayed.sort()).toEqual(live.sort());
    expect(live.length).toBeGreaterThanOrEqual(4);
  });
});
