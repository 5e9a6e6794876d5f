import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../../src/events/canonical.js';
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

/** Genesis, `count` events and a checkpoint covering them (seq count + 1). */
function run(count: number, chain = new EventChain()): BrokerEvent[] {
  const events = [chain.genesis(T0)];
  for (let n = 1; n <= count; n += 1) events.push(chain.append(issued(n), T0));
  events.push(chain.checkpoint(T0));
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
      const previous = events[index - 1];
      if (previous !== undefined) expect(event.prev).toBe(eventHash(previous));
    }
    expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
  });

  it('draws event ids from a random per-instance prefix and a counter', () => {
    const one = run(3);
    const two = run(3);
    const prefix = (event: BrokerEvent) => event.id.slice(0, 20);
    expect(new Set(one.map(prefix)).size).toBe(1);
    expect(prefix(one[0]!)).not.toBe(prefix(two[0]!));
    expect(one.map((event) => event.id)).toEqual(one.map((event) => event.id).sort());
  });

  it('signs only genesis and checkpoints; a checkpoint names the event before it', () => {
    const chain = new EventChain();
    const events = run(3, chain);
    const signed = events.filter((event) => event.sig !== undefined).map((event) => event.type);
    expect(signed).toEqual(['chain.genesis', 'chain.checkpoint']);
    for (const event of events) {
      if (event.sig !== undefined) expect(event.sig).toMatch(/^[A-Za-z0-9_-]{86}$/);
      else expect('sig' in event).toBe(false);
    }
    const checkpoint = events.at(-1)!;
    expect(checkpoint).toMatchObject({
      type: 'chain.checkpoint',
      outcome: 'success',
      seq: 4,
      detail: { upto_seq: 3, upto_hash: eventHash(events[3]!) },
    });
    expect(chain.uncovered).toBe(0);
    chain.append(issued(4), T0);
    expect(chain.uncovered).toBe(1);
  });

  it('keeps every member of a fully populated event', () => {
    const chain = new EventChain();
    chain.genesis(T0);
    const input: Required<EventInput> = {
      type: 'credential.issued',
      severity: 'low',
      outcome: 'success',
      request_id: 'req_1',
      workload: 'agent-a',
      subject: 'spiffe://acme/agent-a',
      issuer: 'spire',
      target: 'github-acme',
      provider: 'github',
      lease_id: 'lse_1',
      task: { id: 't1', intent: 'triage', tool: 'gh' },
      scope: { repo: 'acme/web' },
      reason: 'ok',
      actor: 'alice@example.com',
      source_ip: '10.0.0.7',
      policy: 'agents',
      policy_hash: 'f'.repeat(64),
      token_sha256: 'a'.repeat(64),
      expires_at: T0.toISOString(),
      counts: { leases: 1 },
      detail: { note: 'n' },
    };
    const event = chain.append(input, T0);
    expect(event).toMatchObject(input);
    expect(Object.keys(event)).toEqual(Object.keys(event).sort());
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
    expect(() => chain.append({ type: 'chain.checkpoint', outcome: 'success' }, T0)).toThrow(
      TypeError,
    );
    expect(() => new EventChain().checkpoint(T0)).toThrow(TypeError);
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
  // seq 0 genesis, 1–5 events, 6 checkpoint, 7–8 events, 9 checkpoint.
  const events = run(5, chain);
  for (let n = 6; n <= 7; n += 1) events.push(chain.append(issued(n), T0));
  events.push(chain.checkpoint(T0));
  const key = chain.publicKeyJwk;

  it('accepts an intact chain, also after a JSON round trip', () => {
    expect(verifyChain(events, key)).toEqual({ ok: true });
    expect(verifyChain(JSON.parse(JSON.stringify(events)) as BrokerEvent[], key)).toEqual({
      ok: true,
    });
  });

  it('accepts a tail that does not start at genesis', () => {
    expect(verifyChain(events.slice(2), key)).toEqual({ ok: true });
    expect(verifyChain(events.slice(7), key)).toEqual({ ok: true });
  });

  it('reports events after the last checkpoint as an unsigned tail', () => {
    expect(verifyChain(events.slice(0, 5), key)).toEqual({ ok: true, unsignedTail: 4 });
    expect(verifyChain(events.slice(0, 9), key)).toEqual({ ok: true, unsignedTail: 2 });
    expect(verifyChain(events.slice(7, 9), key)).toEqual({ ok: true, unsignedTail: 2 });
    expect(verifyChain([], key)).toEqual({ ok: true });
  });

  it('detects an altered field', () => {
    const altered = events.map((event, index) =>
      index === 3 ? { ...event, workload: 'agent-evil' } : event,
    );
    // The next event's prev no longer matches; the checkpoint at 6 vouches for that prev.
    expect(verifyChain(altered, key)).toEqual({ ok: false, index: 4, error: 'broken_link' });
  });

  it('detects an altered nested field', () => {
    const altered = events.map((event, index) =>
      index === 2
        ? { ...event, scope: { repo: 'acme/web', permissions: { contents: 'write' } } }
        : event,
    );
    expect(verifyChain(altered, key)).toEqual({ ok: false, index: 3, error: 'broken_link' });
  });

  it('detects an altered event just before a checkpoint', () => {
    const altered = events.map((event, index) =>
      index === 5 ? { ...event, lease_id: 'lse_evil' } : event,
    );
    expect(verifyChain(altered, key)).toEqual({ ok: false, index: 6, error: 'broken_link' });
  });

  it('detects an altered event whose links were all rewritten up to the checkpoint', () => {
    // Recomputing every later prev hides the change from the links, but not from the
    // signature over the checkpoint, which covers its own prev and upto_hash.
    const rewritten: BrokerEvent[] = [...events.slice(0, 3)];
    for (const event of events.slice(3, 7)) {
      const prev = eventHash(rewritten.at(-1)!);
      let next: BrokerEvent = { ...event, prev };
      if (event.seq === 3) next = { ...next, workload: 'agent-evil' };
      if (event.type === 'chain.checkpoint') {
        next = { ...next, detail: { upto_seq: event.seq - 1, upto_hash: prev } };
      }
      rewritten.push(next);
    }
    expect(verifyChain(rewritten, key)).toEqual({ ok: false, index: 6, error: 'bad_signature' });
  });

  it('detects a checkpoint that does not name the event before it', () => {
    // Only a key holder can sign such a checkpoint; the verifier still refuses it.
    const { privateKey } = generateKeyPairSync('ed25519');
    const keyHolder = new EventChain({ privateKey });
    const honest = run(2, keyHolder);
    const { sig: _sig, ...checkpoint } = honest.at(-1)!;
    const misnamed = { ...checkpoint, detail: { upto_hash: checkpoint.prev, upto_seq: 1 } };
    const sig = sign(null, Buffer.from(canonicalize(misnamed)), privateKey).toString('base64url');
    expect(verifyChain(honest, keyHolder.publicKeyJwk)).toEqual({ ok: true });
    expect(
      verifyChain([...honest.slice(0, 3), { ...misnamed, sig }], keyHolder.publicKeyJwk),
    ).toEqual({
      ok: false,
      index: 3,
      error: 'checkpoint_mismatch',
    });
  });

  it('detects an altered unsigned event only once a checkpoint covers it', () => {
    const tail = events.slice(0, 9);
    const altered = tail.map((event, index) =>
      index === 8 ? { ...event, workload: 'agent-evil' } : event,
    );
    // Nothing signed covers seq 7–8 yet: the verifier can only say so.
    expect(verifyChain(altered, key)).toEqual({ ok: true, unsignedTail: 2 });
    expect(verifyChain([...altered, events[9]!], key)).toEqual({
      ok: false,
      index: 9,
      error: 'broken_link',
    });
  });

  it('detects a removed event as a gap', () => {
    const removed = events.filter((event) => event.seq !== 3);
    expect(verifyChain(removed, key)).toEqual({ ok: false, index: 3, error: 'gap' });
  });

  it('detects a removed checkpoint as a gap', () => {
    const removed = events.filter((event) => event.seq !== 6);
    expect(verifyChain(removed, key)).toEqual({ ok: false, index: 6, error: 'gap' });
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
      index === 6 ? { ...event, sig: events[0]!.sig! } : event,
    );
    expect(verifyChain(forged, key)).toEqual({ ok: false, index: 6, error: 'bad_signature' });
  });

  it('detects a missing signature on a checkpoint and on genesis', () => {
    const { sig: _checkpointSig, ...unsignedCheckpoint } = events[6]!;
    const stripped = [...events.slice(0, 6), unsignedCheckpoint];
    expect(verifyChain(stripped, key)).toEqual({ ok: false, index: 6, error: 'bad_signature' });
    const { sig: _genesisSig, ...unsignedGenesis } = events[0]!;
    expect(verifyChain([unsignedGenesis, ...events.slice(1)], key)).toEqual({
      ok: false,
      index: 0,
      error: 'bad_signature',
    });
  });

  it('refuses a signature on an event the chain does not sign', () => {
    const decorated = events.map((event, index) =>
      index === 2 ? { ...event, sig: events[6]!.sig! } : event,
    );
    expect(verifyChain(decorated, key)).toEqual({ ok: false, index: 2, error: 'bad_signature' });
  });

  it('rejects events signed by another key', () => {
    // The genesis announces a key the verifier does not trust: refused before its signature.
    expect(verifyChain(events, new EventChain().publicKeyJwk)).toEqual({
      ok: false,
      index: 0,
      error: 'key_not_anchored',
    });
    expect(verifyChain(events.slice(1), new EventChain().publicKeyJwk)).toEqual({
      ok: false,
      index: 5,
      error: 'bad_signature',
    });
  });

  it('refuses a genesis anywhere but seq 0', () => {
    const moved = events.map((event, index) =>
      index === 0 ? { ...event, type: 'lease.revoked' as const } : event,
    );
    expect(verifyChain(moved, key)).toEqual({ ok: false, index: 0, error: 'broken_link' });
  });

  it('detects a validly signed event from a fork as a broken link', () => {
    // Two chains sharing key and instance: only a key holder could do this.
    const { privateKey } = generateKeyPairSync('ed25519');
    const left = run(3, new EventChain({ privateKey, instance: 'ins_fork' }));
    const right = run(3, new EventChain({ privateKey, instance: 'ins_fork' }));
    const forkKey = new EventChain({ privateKey }).publicKeyJwk;
    expect(verifyChain(left, forkKey)).toEqual({ ok: true });
    const spliced = [left[0]!, left[1]!, right[2]!, right[3]!, right[4]!];
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
