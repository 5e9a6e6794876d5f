import { describe, expect, it } from 'vitest';
import { EventChain, verifyChain } from '../../../src/events/chain.js';
import { fromOcsf, toOcsf } from '../../../src/events/ocsf.js';
import { type BrokerEvent, EVENT_TYPES, type EventInput } from '../../../src/events/types.js';

const TIME = new Date('2026-05-01T12:00:00.250Z');

/** Every member an event can carry, so that a member the mapping loses cannot hide. */
const FULL: Omit<EventInput, 'type'> = {
  outcome: 'denied',
  severity: 'high',
  request_id: 'req_1',
  workload: 'agent-a',
  subject: 'spiffe://acme/agent-a',
  issuer: 'acme',
  target: 'github-acme',
  provider: 'github',
  lease_id: 'lse_1',
  task: { id: 't1', intent: 'triage', tool: 'gh' },
  scope: { repositories: ['acme/web'], permissions: { contents: 'read' } },
  reason: 'token leaked in a CI log',
  actor: 'alice@example.com',
  source_ip: '192.0.2.7',
  policy: 'agents-read',
  policy_hash: 'f'.repeat(64),
  token_sha256: 'a'.repeat(64),
  expires_at: '2026-05-01T12:05:00.000Z',
  counts: { revoked: 3 },
  detail: { nested: { list: [1, 'two', null] } },
};

const roundTrip = (event: BrokerEvent) => fromOcsf(JSON.parse(JSON.stringify(toOcsf(event))));

describe('fromOcsf', () => {
  it('gives back every event exactly as chained, signed ones included', () => {
    const chain = new EventChain();
    const events: BrokerEvent[] = [chain.genesis(TIME)];
    for (const type of EVENT_TYPES) {
      if (type === 'chain.genesis' || type === 'chain.checkpoint') continue;
      events.push(chain.append({ ...FULL, type }, TIME));
      const { actor: _actor, reason: _reason, source_ip: _ip, ...sparse } = FULL;
      events.push(chain.append({ ...sparse, type }, TIME));
      events.push(chain.append({ type, outcome: 'success' }, TIME));
    }
    // An operator who shares a workload's name: only unmapped.actor tells them apart.
    events.push(
      chain.append(
        { type: 'workload.revoked', outcome: 'success', workload: 'ops', actor: 'ops' },
        TIME,
      ),
    );
    events.push(chain.checkpoint(TIME, { final: true }));
    const back = events.map(roundTrip);
    expect(back).toEqual(events);
    expect(verifyChain(back as BrokerEvent[], chain.publicKeyJwk)).toEqual({ ok: true });
  });

  it('reads the actor of an export written before unmapped.actor existed', () => {
    const chain = new EventChain();
    chain.genesis(TIME);
    const acted = chain.append(
      { type: 'workload.revoked', outcome: 'success', workload: 'agent-a', actor: 'alice' },
      TIME,
    );
    const plain = chain.append(
      { type: 'credential.issued', outcome: 'success', workload: 'agent-a', subject: 's' },
      TIME,
    );
    for (const event of [acted, plain]) {
      const ocsf = JSON.parse(JSON.stringify(toOcsf(event)));
      delete ocsf.unmapped.actor;
      expect(fromOcsf(ocsf)).toEqual(event);
    }
  });

  it('refuses documents without the chain fields', () => {
    expect(fromOcsf({ class_uid: 6003 })).toBeUndefined();
    const event = new EventChain().genesis(TIME);
    const ocsf = JSON.parse(JSON.stringify(toOcsf(event)));
    delete ocsf.unmapped.prev;
    expect(fromOcsf(ocsf)).toBeUndefined();
  });
});
