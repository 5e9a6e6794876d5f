import { describe, expect, it } from 'vitest';
import { workloadSchema } from '../../../src/config/schema.js';
import { type DetectionRuleConfig, detectionsSchema } from '../../../src/detections/config.js';
import { DetectionEngine } from '../../../src/detections/engine.js';
import { MemoryDetectionState } from '../../../src/detections/memory-state.js';
import { eventFromLine, firingLine, replay } from '../../../src/detections/replay.js';
import { networkOf } from '../../../src/detections/rules/values.js';
import type { BrokerEvent } from '../../../src/events/types.js';

const WORKLOADS = [
  workloadSchema.parse({
    id: 'agent-a',
    issuer: 'idp',
    subject: 'spiffe://t/agent-a',
    tier: 'write',
  }),
  workloadSchema.parse({ id: 'agent-b', issuer: 'idp', subject: 'spiffe://t/b/*', tier: 'read' }),
];

let seq = 0;
const T0 = Date.parse('2026-03-02T10:00:00Z'); // a Monday
function event(
  type: BrokerEvent['type'],
  at: number,
  fields: Partial<BrokerEvent> = {},
): BrokerEvent {
  seq += 1;
  return {
    id: `evt_${seq}`,
    seq,
    instance: 'i1',
    prev: '',
    time: new Date(at).toISOString(),
    severity: 'low',
    type,
    outcome: type === 'credential.issued' ? 'success' : 'denied',
    workload: 'agent-a',
    ...fields,
  };
}

function engine(rules: object[]) {
  return new DetectionEngine({
    rules: detectionsSchema.parse(rules) as DetectionRuleConfig[],
    workloads: WORKLOADS,
    state: new MemoryDetectionState(),
  });
}

async function run(e: DetectionEngine, events: BrokerEvent[]) {
  const out: string[] = [];
  for (const ev of events)
    for (const f of await e.observe(ev)) out.push(`${f.rule}@${f.trigger.id}`);
  return out;
}

describe('the detection engine', () => {
  it('counts denials within the window only, by the events own time', async () => {
    const e = engine([
      { name: 'b', kind: 'denial_burst', count: 3, window: '1m', actions: ['alert'] },
    ]);
    const a = event('credential.denied', T0);
    const b = event('credential.denied', T0 + 30_000);
    const c = event('credential.denied', T0 + 61_000); // `a` has left the window
    const d = event('credential.denied', T0 + 62_000);
    expect(await run(e, [a, b, c, d])).toEqual([`b@${d.id}`]);
  });

  it('scope escalation reads the reason and detail.reasons codes; other denials do not count', async () => {
    const e = engine([
      { name: 's', kind: 'scope_escalation', count: 2, window: '1m', actions: ['alert'] },
    ]);
    const events = [
      event('credential.denied', T0, { reason: 'intent_not_allowed' }),
      event('credential.denied', T0 + 1, {
        reason: 'policy_denied',
        detail: { reasons: [{ code: 'tier_exceeded' }] },
      }),
      event('credential.denied', T0 + 2, { reason: 'no_matching_policy' }),
      event('credential.denied', T0 + 3, { reason: 'scope_exceeds_ceiling' }),
    ];
    expect(await run(e, events)).toEqual([`s@${events[3]?.id}`]);
  });

  it('never reads operator actions, its own firings, or refusals caused by a block', async () => {
    const e = engine([
      { name: 'b', kind: 'denial_burst', count: 1, window: '1m', actions: ['block'] },
    ]);
    expect(
      await run(e, [
        event('credential.denied', T0, { actor: 'alice@example.com' }),
        event('detection.fired', T0),
        event('workload.revoked', T0, { actor: 'detection:b' }),
        event('credential.denied', T0, { reason: 'workload_blocked' }),
        event('credential.denied', T0, { reason: 'issuance_frozen' }),
      ]),
    ).toEqual([]);
  });

  it('a cool-down makes one incident one firing, and the next incident fires again', async () => {
    const e = engine([
      {
        name: 'b',
        kind: 'denial_burst',
        count: 1,
        window: '1m',
        cooldown: '10m',
        actions: ['alert'],
      },
    ]);
    const events = [0, 1_000, 599_000, 600_000].map((d) => event('credential.denied', T0 + d));
    expect(await run(e, events)).toEqual([`b@${events[0]?.id}`, `b@${events[3]?.id}`]);
  });

  it('matches workloads by id, glob and tier', async () => {
    const e = engine([
      {
        name: 'b',
        kind: 'denial_burst',
        count: 1,
        window: '1m',
        actions: ['alert'],
        workloads: ['tier:read'],
      },
    ]);
    const a = event('credential.denied', T0);
    const b = event('credential.denied', T0, { workload: 'agent-b' });
    const unknown = event('credential.denied', T0, { workload: 'gone' });
    expect(await run(e, [a, b, unknown])).toEqual([`b@${b.id}`]);
  });

  it('maps a refused token to its workload by issuer and subject', async () => {
    const e = engine([
      { name: 'f', kind: 'auth_failures', count: 2, window: '1m', actions: ['alert'] },
    ]);
    const fail = (subject: string, issuer = 'idp') => {
      const { workload: _w, ...refused } = event('auth.failed', T0, {
        subject,
        issuer,
        reason: 'expired',
      });
      return refused as BrokerEvent;
    };
    const x = fail('spiffe://t/b/one');
    const other = fail('spiffe://t/b/two', 'elsewhere');
    const y = fail('spiffe://t/b/two');
    expect(await run(e, [x, other, y])).toEqual([`f@${y.id}`]);
  });

  it('a refused token counts only when its signature vouched for the subject: forged subjects never block the workload they name', async () => {
    const e = engine([
      { name: 'f', kind: 'auth_failures', count: 2, window: '1m', actions: ['block'] },
    ]);
    const fail = (reason: string, fields: Partial<BrokerEvent> = {}) => {
      const { workload: _w, ...refused } = event('auth.failed', T0, {
        subject: 'spiffe://t/agent-a',
        issuer: 'idp',
        reason,
        ...fields,
      });
      return refused as BrokerEvent;
    };
    // Anyone can send these naming the victim: none may count, however many.
    const forged = [
      'bad_signature',
      'unknown_key',
      'unknown_issuer',
      'malformed',
      'algorithm_not_allowed',
      'forbidden_header',
      'no_workload',
      'no_role',
      'break_glass_invalid',
    ].flatMap((reason) => [fail(reason), fail(reason), fail(reason)]);
    // A refusal that says it is about a workload, unauthenticated, is not believed either.
    const named = [
      fail('bad_signature', { workload: 'agent-a' }),
      fail('malformed', { workload: 'agent-a' }),
    ];
    // An enterprise user's grant is a user's subject, never a workload's.
    const grants = [
      fail('replayed', { detail: { parameter: 'assertion' } }),
      fail('client_mismatch', { detail: { parameter: 'assertion' } }),
    ];
    expect(await run(e, [...forged, ...named, ...grants])).toEqual([]);
    const x = fail('replayed');
    const y = fail('revoked');
    expect(await run(e, [x, y])).toEqual([`f@${y.id}`]);
  });

  it('an unverified revocation fires once per cool-down, with its lease and check; a verified one never', async () => {
    const e = engine([
      { name: 'u', kind: 'revocation_unverified', cooldown: '10m', workloads: ['agent-a'] },
    ]);
    const unverified = (at: number, workload = 'agent-a') =>
      event('revocation.unverified', at, {
        workload,
        outcome: 'failure',
        lease_id: `lse_${at}`,
        target: 'pg-app',
        provider: 'postgres',
        reason: 'workload_revoked',
        detail: { verification: 'unverified', evidence: 'role still exists' },
      });
    const verified = event('revocation.verified', T0, { workload: 'agent-a', outcome: 'success' });
    const a = unverified(T0);
    const b = unverified(T0 + 1_000); // the same kill switch: the same incident
    const other = unverified(T0 + 2_000, 'agent-b'); // a workload the rule does not cover
    const c = unverified(T0 + 11 * 60_000);
    const firings = [];
    for (const ev of [verified, a, b, other, c]) firings.push(...(await e.observe(ev)));
    expect(firings.map((f) => f.trigger.id)).toEqual([a.id, c.id]);
    expect(firings[0]).toMatchObject({
      kind: 'revocation_unverified',
      actions: ['alert'],
      evidence: {
        lease_id: `lse_${T0}`,
        target: 'pg-app',
        provider: 'postgres',
        revoke_reason: 'workload_revoked',
        check: 'role still exists',
      },
    });
  });

  it('replay fires on recorded unverified revocations as the live engine does', async () => {
    const rules = detectionsSchema.parse([
      { name: 'u', kind: 'revocation_unverified', cooldown: '1m' },
    ]) as DetectionRuleConfig[];
    const lines = [T0 + 5_000, T0, T0 + 90_000].map((at) =>
      JSON.stringify(
        event('revocation.unverified', at, { workload: 'agent-b', outcome: 'failure' }),
      ),
    );
    const events = lines.map((l) => eventFromLine(l)).filter((e) => e !== undefined);
    const { firings } = await replay({ rules, workloads: WORKLOADS }, events);
    expect(firings.map((f) => f.at)).toEqual([
      new Date(T0).toISOString(),
      new Date(T0 + 90_000).toISOString(),
    ]);
  });

  it('replay prints a firing with the control characters of the replayed file escaped', async () => {
    const rules = detectionsSchema.parse([
      { name: 'u', kind: 'revocation_unverified', cooldown: '1m' },
    ]) as DetectionRuleConfig[];
    const line = JSON.stringify(
      event('revocation.unverified', T0, {
        id: 'evt_\u001b]0;x\u0007',
        workload: 'agent-b',
        outcome: 'failure',
        reason: 'gone\u009b2J',
      }),
    );
    const events = [eventFromLine(line)].filter((e) => e !== undefined);
    const { firings } = await replay({ rules, workloads: WORKLOADS }, events);
    expect(firings).toHaveLength(1);
    const printed = firings.map(firingLine).join('\n');
    expect(printed).toContain('trigger=evt_');
    expect(printed).not.toMatch(/\p{Cc}/u);
  });

  it('first seen: a target new within the days fires, a known one does not, the first is learnt', async () => {
    const e = engine([
      { name: 'n', kind: 'first_seen', of: 'target', days: 7, actions: ['alert'], cooldown: '1s' },
    ]);
    const day = 86_400_000;
    const events = [
      event('credential.issued', T0, { target: 'tickets' }),
      event('credential.issued', T0 + 1_000, { target: 'tickets' }),
      event('credential.denied', T0 + 2_000, { target: 'billing' }),
      event('credential.issued', T0 + 7.5 * day, { target: 'tickets' }),
      event('credential.issued', T0 + 8 * day, { target: 'billing' }), // forgotten after 7 days
      // A history that has expired whole is a workload starting over: learnt, not fired.
      event('credential.issued', T0 + 30 * day, { target: 'payroll' }),
    ];
    expect(await run(e, events)).toEqual([`n@${events[2]?.id}`, `n@${events[4]?.id}`]);
  });

  it('rate baseline fires above a multiple of the trailing average, not before min_count', async () => {
    const e = engine([
      {
        name: 'r',
        kind: 'rate_baseline',
        window: '5m',
        baseline: '1h',
        multiple: 3,
        min_count: 5,
        actions: ['alert'],
      },
    ]);
    const events: BrokerEvent[] = [];
    const w = 300_000;
    // A first window of 4 (under min_count though the baseline is 0), then an hour at 2 a window.
    for (let i = 0; i < 4; i++) events.push(event('credential.issued', T0 + i));
    for (let m = 1; m < 12; m++)
      for (let i = 0; i < 2; i++) events.push(event('credential.issued', T0 + m * w + i));
    // Baseline (4 + 11 × 2) / 12 ≈ 2.17: the seventh in the next window is above 3 × that.
    for (let i = 0; i < 7; i++) events.push(event('credential.issued', T0 + 12 * w + i));
    expect(await run(e, events)).toEqual([`r@${events.at(-1)?.id}`]);
  });

  it('time window: outside the hours or days in the named zone', async () => {
    const e = engine([
      {
        name: 't',
        kind: 'time_window',
        hours: { from: '08:00', to: '18:00' },
        days: ['mon', 'tue', 'wed', 'thu', 'fri'],
        timezone: 'America/New_York',
        actions: ['alert'],
        cooldown: '1s',
      },
    ]);
    const inside = event('credential.issued', Date.parse('2026-03-02T14:00:00Z')); // Mon 09:00 New York
    const early = event('credential.issued', Date.parse('2026-03-02T12:00:00Z')); // Mon 07:00
    const saturday = event('credential.issued', Date.parse('2026-03-07T15:00:00Z')); // Sat 10:00
    expect(await run(e, [inside, early, saturday])).toEqual([`t@${early.id}`, `t@${saturday.id}`]);
  });

  it('new network: a /24 or /64 not seen for the workload', async () => {
    const e = engine([{ name: 'n', kind: 'new_network', actions: ['alert'], cooldown: '1s' }]);
    const events = [
      event('credential.issued', T0, { source_ip: '10.0.1.5' }),
      event('credential.issued', T0 + 1_000, { source_ip: '10.0.1.77' }),
      event('credential.issued', T0 + 2_000, { source_ip: '10.0.2.5' }),
      event('credential.issued', T0 + 3_000, { source_ip: '2001:db8:0:1::5' }),
      event('credential.issued', T0 + 4_000, { source_ip: '2001:db8:0:1:ffff::9' }),
    ];
    expect(await run(e, events)).toEqual([`n@${events[2]?.id}`, `n@${events[3]?.id}`]);
    expect(networkOf('::ffff:192.168.7.9', 24, 64)).toBe('192.168.7.0/24');
    expect(networkOf('2001:db8::1', 24, 48)).toBe('2001:db8:0:0:0:0:0:0/48');
    expect(networkOf('not-an-ip', 24, 64)).toBeUndefined();
  });
});
