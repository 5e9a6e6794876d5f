import { describe, expect, it, vi } from 'vitest';
import { BrokerError } from '../../../src/errors.js';
import { EventBus, type EventBusOptions } from '../../../src/events/bus.js';
import { verifyChain } from '../../../src/events/chain.js';
import type { EventInput, EventType } from '../../../src/events/types.js';
import { MemorySink } from '../../helpers/memory-sink.js';

const issued: EventInput = { type: 'credential.issued', outcome: 'success', workload: 'agent-a' };
const refused: EventInput = { type: 'auth.failed', outcome: 'failure', reason: 'malformed' };

function bus(sinks: MemorySink[], options: Partial<EventBusOptions> = {}) {
  const errors: { sink: string; err: unknown }[] = [];
  const shed: EventType[] = [];
  const instance = new EventBus({
    sinks,
    onError: (sink, err) => errors.push({ sink, err }),
    onShed: (type) => shed.push(type),
    retry: { baseMs: 5, maxMs: 20 },
    writeTimeoutMs: 2_000,
    checkpoint: { maxDelayMs: 60_000 },
    ...options,
  });
  return { bus: instance, errors, shed };
}

describe('EventBus: sheddable events have a share of their own', () => {
  it('sheds a flood of auth failures before chaining, counted, while issuance waits behind at most the share', async () => {
    const required = new MemorySink('siem', 'required');
    const optional = new MemorySink('stdout', 'best_effort');
    const {
      bus: events,
      errors,
      shed,
    } = bus([required, optional], {
      batchSize: 10,
      maxSheddable: 10,
    });
    await events.start();
    // The SIEM stops answering, as a slow indexer acknowledgement does.
    const release = required.hold();
    for (let n = 0; n < 1_000; n += 1) await events.emit({ ...refused, request_id: `req_${n}` });
    expect(events.wouldShed('auth.failed')).toBe(true);
    expect(events.wouldShed('credential.issued')).toBe(false);

    const issuance = events.emit({ ...issued, lease_id: 'lse_1' }, { failClosed: true });
    release();
    await issuance;
    // Genesis, the share of auth failures, then the issuance.
    expect(required.events.map((event) => event.type)).toEqual([
      'chain.genesis',
      ...Array<string>(10).fill('auth.failed'),
      'credential.issued',
    ]);
    expect(shed).toHaveLength(990);
    expect(new Set(shed)).toEqual(new Set(['auth.failed']));
    expect(events.stats().shed).toBe(990);
    // Reported once for the episode, not once per event.
    const reports = errors.filter((entry) => /sheddable/.test(String(entry.err)));
    expect(reports).toHaveLength(1);
    expect(String(reports[0]?.err)).toMatch(/event sink siem holds its share/);

    // Once the share drains, auth failures are chained again.
    await events.flush();
    expect(events.wouldShed('auth.failed')).toBe(false);
    await events.emit(refused);
    await events.flush();
    // Nothing chained was dropped: every sink holds the whole chain.
    for (const sink of [required, optional]) {
      expect(verifyChain(sink.events, events.publicKeyJwk)).toEqual({ ok: true });
    }
    expect(events.stats().sinks.siem).toMatchObject({ dropped: 0, queued: 0 });
    expect(events.stats().sinks.stdout).toMatchObject({ dropped: 0, queued: 0 });
  });

  it('gives sheddable events none of the room essential events have', async () => {
    const sink = new MemorySink('siem', 'required');
    const { bus: events } = bus([sink], { maxQueue: 5, maxSheddable: 3 });
    await events.start();
    sink.failing = true;
    for (let n = 0; n < 10; n += 1) await events.emit(refused);
    // Genesis was written before the outage; 3 auth failures wait; the rest were shed.
    expect(events.stats().shed).toBe(7);
    for (let n = 0; n < 5; n += 1) await events.emit({ ...issued, lease_id: `lse_${n}` });
    expect(events.stats().sinks.siem?.queued).toBe(8);
    // The essential queue is full now, and only now: issuance fails closed.
    const err = await events.emit({ ...issued, lease_id: 'lse_x' }, { failClosed: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).code).toBe('audit_unavailable');
    sink.failing = false;
    // Drained by the retries first, so that the checkpoint flush signs finds room.
    await vi.waitFor(() => expect(events.stats().sinks.siem?.queued).toBe(0));
    await events.flush();
    expect(verifyChain(sink.events, events.publicKeyJwk)).toEqual({ ok: true });
  });

  it('never sheds essential events, however many there are', async () => {
    const sink = new MemorySink('siem', 'required');
    const { bus: events, shed } = bus([sink], { maxSheddable: 0 });
    await events.start();
    const release = sink.hold();
    for (let n = 0; n < 500; n += 1) {
      await events.emit({ type: 'lease.revoked', outcome: 'success', lease_id: `lse_${n}` });
    }
    await events.emit(refused);
    release();
    await events.flush();
    expect(shed).toEqual(['auth.failed']);
    expect(sink.events.filter((event) => event.type === 'lease.revoked')).toHaveLength(500);
  });

  it('refuses a negative or fractional share', () => {
    expect(() => new EventBus({ sinks: [], maxSheddable: -1 })).toThrow(TypeError);
    expect(() => new EventBus({ sinks: [], maxSheddable: 1.5 })).toThrow(TypeError);
  });
});
