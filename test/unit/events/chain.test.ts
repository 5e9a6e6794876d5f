import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EventChain, eventHash, GENESIS_PREV, verifyChain } from '../../../src/events/chain.js';
import type { BrokerEvent, EventInput } from '../../../src/events/types.js';

const T0 = new Date('2025-05-01T12:00:00.000Z');

function issued(n: number): EventInput {
  return {
    type: 'credential.issued',
    outcome: 'success',
    workload: 'agent-a',
    lease_id: `lse_${n}`,
    scope: { repo: 'acme/web', permissions: { contents: 'read' } },
  };
}

function run(count: number, chain = new EventChain()): BrokerEvent[] {
  const events = [chain.genesis(T0)];
  for (let n = 1; n <= count; n += 1) events.push(chain.append(issued(n), T0));
  return events;
}

describe('EventChain', () => {
  it('starts with a genesis event that announces the public key', () => {
    const chain = new EventChain();
    const genesis = chain.genesis(T0);
    expect(genesis).toMatchObject({
      type: 'chain.genesis',
      seq: 0,
      prev: GENESIS_PREV,
      instance: chain.instance,
      time: T0.toISOString(),
      severity: 'info',
    });
    expect(genesis.prev).toBe('0'.repeat(64));
    expect(genesis.detail?.public_key).toEqual(chain.publicKeyJwk);
    expect(chain.publicKeyJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    expect(chain.instance).toMatch(/^ins_[0-9a-hjkmnp-tv-z]{16}$/);
  });

  it('numbers, stamps and links every event to the hash of the one before', () => {
    const events = run(3);
    for (const [index, event] of events.entries()) {
      expect(event.seq).toBe(index);
      expect(event.id).toMatch(/^evt_[0-9a-hjkmnp-tv-z]{26}$/);
      expect(event.sig).toMatch(/^[A-Za-z0-9_-]{86}$/);
      const previous = events[index - 1];
      if (previous !== undefined) expect(event.prev).toBe(eventHash(previous));
    }
    expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
  });

  it('applies default severities and keeps an explicit one', () => {
    const chain = new EventChain();
    chain.genesis(T0);
    const severity = (input: EventInput) => chain.append(input, T0).severity;
    expect(severity({ type: 'lease.revoke_failed', outcome: 'failure' })).toBe('high');
    expect(severity({ type: 'operator.break_glass_used', outcome: 'success' })).toBe('critical');
    expect(severity({ type: 'workload.revoked', outcome: 'success' })).toBe('high');
    expect(severity({ type: 'auth.failed', outcome: 'failure' })).toBe('medium');
    expect(severity({ type: 'credential.issued', outcome: 'success' })).toBe('info');
    expect(severity({ type: 'lease.revoked', outcome: 'success', severity: 'low' })).toBe('low');
  });

  it('refuses events before genesis, a second genesis and a forged genesis', () => {
    const chain = new EventChain();
    expect(() => chain.append(issued(1), T0)).toThrow(TypeError);
    chain.genesis(T0);
    expect(() => chain.genesis(T0)).toThrow(TypeError);
    expect(() => chain.append({ type: 'chain.genesis', outcome: 'success' }, T0)).toThrow(
      TypeError,
    );
  });

  it('hands out frozen events so no sink or listener can alter what was signed', () => {
    const [genesis] = run(0);
    expect(Object.isFrozen(genesis)).toBe(true);
    expect(Object.isFrozen(genesis?.detail)).toBe(true);
  });

  it('rejects a private key that is not Ed25519', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => new EventChain({ privateKey })).toThrow(TypeError);
  });
});

describe('verifyChain', () => {
  const chain = new EventChain();
  const events = run(5, chain);
  const key = chain.publicKeyJwk;

  it('accepts an intact chain, also after a JSON round trip', () => {
    expect(verifyChain(events, key)).toEqual({ ok: true });
    expect(verifyChain(JSON.parse(JSON.stringify(events)) as BrokerEvent[], key)).toEqual({
      ok: true,
    });
  });

  it('accepts a tail that does not start at genesis', () => {
    expect(verifyChain(events.slice(2), key)).toEqual({ ok: true });
  });

  it('detects an altered field', () => {
    const altered = events.map((event, index) =>
      index === 3 ? { ...event, workload: 'agent-evil' } : event,
    );
    expect(verifyChain(altered, key)).toEqual({ ok: false, index: 3, error: 'bad_signature' });
  });

  it('detects an altered nested field', () => {
    const altered = events.map((event, index) =>
      index === 2
        ? { ...event, scope: { repo: 'acme/web', permissions: { contents: 'write' } } }
        : event,
    );
    expect(verifyChain(altered, key)).toEqual({ ok: false, index: 2, error: 'bad_signature' });
  });

  it('detects a removed event as a gap', () => {
    const removed = events.filter((event) => event.seq !== 3);
    expect(verifyChain(removed, key)).toEqual({ ok: false, index: 3, error: 'gap' });
  });

  it('detects swapped events as reordered', () => {
    const swapped = [...events];
    [swapped[2], swapped[3]] = [events[3]!, events[2]!];
    expect(verifyChain(swapped, key)).toEqual({ ok: false, index: 2, error: 'reordered' });
  });

  it('detects a replayed event as reordered', () => {
    const replayed = [...events.slice(0, 4), events[2]!, ...events.slice(4)];
    expect(verifyChain(replayed, key)).toEqual({ ok: false, index: 4, error: 'reordered' });
  });

  it('detects a signature that is not over the event', () => {
    const forged = events.map((event, index) =>
      index === 1 ? { ...event, sig: events[2]!.sig } : event,
    );
    expect(verifyChain(forged, key)).toEqual({ ok: false, index: 1, error: 'bad_signature' });
  });

  it('detects a missing signature', () => {
    const { sig: _sig, ...unsigned } = events[4]!;
    const stripped = [...events.slice(0, 4), unsigned as BrokerEvent];
    expect(verifyChain(stripped, key)).toEqual({ ok: false, index: 4, error: 'bad_signature' });
  });

  it('rejects events signed by another key', () => {
    expect(verifyChain(events, new EventChain().publicKeyJwk)).toEqual({
      ok: false,
      index: 0,
      error: 'bad_signature',
    });
  });

  it('detects a validly signed event from a fork as a broken link', () => {
    // Two chains sharing key and instance: only a key holder could do this.
    const { privateKey } = generateKeyPairSync('ed25519');
    const left = run(3, new EventChain({ privateKey, instance: 'ins_fork' }));
    const right = run(3, new EventChain({ privateKey, instance: 'ins_fork' }));
    const forkKey = new EventChain({ privateKey }).publicKeyJwk;
    expect(verifyChain(left, forkKey)).toEqual({ ok: true });
    const spliced = [left[0]!, left[1]!, right[2]!, right[3]!];
    expect(verifyChain(spliced, forkKey)).toEqual({ ok: false, index: 2, error: 'broken_link' });
  });

  it('detects events of two instances mixed in one run', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const one = run(2, new EventChain({ privateKey, instance: 'ins_one' }));
    const two = run(2, new EventChain({ privateKey, instance: 'ins_two' }));
    const forkKey = new EventChain({ privateKey }).publicKeyJwk;
    expect(verifyChain([one[0]!, two[1]!], forkKey)).toEqual({
      ok: false,
      index: 1,
      error: 'broken_link',
    });
  });
});
