import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { BrokerError } from '../../../src/errors.js';
import { EventBus, type EventBusOptions } from '../../../src/events/bus.js';
import { verifyChain } from '../../../src/events/chain.js';
import { stdoutSink } from '../../../src/events/sinks/stdout/index.js';
import type { BrokerEvent, EventInput } from '../../../src/events/types.js';
import { MemorySink } from '../../helpers/memory-sink.js';

const issued: EventInput = { type: 'credential.issued', outcome: 'success', workload: 'agent-a' };
const revoked: EventInput = { type: 'lease.revoked', outcome: 'success', workload: 'agent-a' };

function bus(sinks: MemorySink[], options: Partial<EventBusOptions> = {}) {
  const errors: { sink: string; err: unknown }[] = [];
  const instance = new EventBus({
    sinks,
    onError: (sink, err) => errors.push({ sink, err }),
    retry: { baseMs: 5, maxMs: 20 },
    writeTimeoutMs: 500,
    ...options,
  });
  return { bus: instance, errors };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('EventBus', () => {
  it('announces the chain to every sink on start', async () => {
    const required = new MemorySink('stream', 'required');
    const optional = new MemorySink('stdout', 'best_effort');
    const { bus: events } = bus([required, optional]);
    await events.start();
    await events.flush();
    for (const sink of [required, optional]) {
      expect(sink.events).toHaveLength(1);
      expect(sink.events[0]).toMatchObject({ type: 'chain.genesis', seq: 0 });
      expect(sink.events[0]?.detail?.public_key).toEqual(events.publicKeyJwk);
      expect(sink.events[0]?.instance).toBe(events.instance);
    }
  });

  it('delivers in call order, in batches, as a chain that verifies', async () => {
    const sink = new MemorySink('stream', 'required');
    const { bus: events } = bus([sink], { batchSize: 100 });
    await events.start();
    const pending = Array.from({ length: 1000 }, (_, n) =>
      events.emit({ ...revoked, lease_id: `lse_${n}` }, { failClosed: false }),
    );
    await Promise.all(pending);
    await events.flush();
    // A checkpoint after every 100 events: seq 101, 202, … 1010.
    expect(sink.seqs).toEqual(Array.from({ length: 1011 }, (_, seq) => seq));
    const leases = sink.events.filter((event) => event.type === 'lease.revoked');
    expect(leases.map((event) => event.lease_id)).toEqual(
      Array.from({ length: 1000 }, (_, n) => `lse_${n}`),
    );
    expect(sink.batches.every((batch) => batch.length <= 100)).toBe(true);
    expect(sink.batches.length).toBeLessThanOrEqual(12);
    expect(verifyChain(sink.events, events.publicKeyJwk)).toEqual({ ok: true });
    expect(events.stats().sinks.stream).toEqual({
      written: 1011,
      dropped: 0,
      failed: 0,
      queued: 0,
    });
  });

  it('chains even when emit is called before start, without a second genesis', async () => {
    const sink = new MemorySink('stream', 'required');
    const { bus: events } = bus([sink]);
    await events.emit(revoked);
    await events.start();
    await events.flush();
    expect(sink.events.map((event) => event.type)).toEqual([
      'chain.genesis',
      'lease.revoked',
      'chain.checkpoint',
    ]);
  });

  it('fails issuance closed with audit_unavailable when a required sink is down', async () => {
    const sink = new MemorySink('stream', 'required');
    const { bus: events, errors } = bus([sink]);
    await events.start();
    sink.failing = true;
    const err = await rejection(events.emit(issued, { failClosed: true }));
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).code).toBe('audit_unavailable');
    expect(errors.some((entry) => entry.sink === 'stream')).toBe(true);
    expect(events.stats().sinks.stream?.failed).toBeGreaterThan(0);
  });

  it('keeps a failed issuance event queued so the delivered chain has no gap', async () => {
    const sink = new MemorySink('stream', 'required');
    const { bus: events } = bus([sink]);
    await events.start();
    sink.failing = true;
    await rejection(events.emit({ ...issued, lease_id: 'lse_failed' }, { failClosed: true }));
    sink.failing = false;
    await events.emit({ ...issued, lease_id: 'lse_ok' }, { failClosed: true });
    expect(sink.events.map((event) => event.lease_id)).toEqual([undefined, 'lse_failed', 'lse_ok']);
    expect(verifyChain(sink.events, events.publicKeyJwk)).toEqual({ ok: true, unsignedTail: 2 });
    await events.flush();
    expect(verifyChain(sink.events, events.publicKeyJwk)).toEqual({ ok: true });
  });

  it('resolves issuance once every required sink has the event', async () => {
    const sink = new MemorySink('stream', 'required');
    const { bus: events } = bus([sink]);
    await events.start();
    await events.emit(issued, { failClosed: true });
    expect(sink.events.at(-1)).toMatchObject({ type: 'credential.issued', seq: 1 });
  });

  it('fails issuance closed when a required sink does not answer in time', async () => {
    const sink = new MemorySink('stream', 'required');
    const { bus: events } = bus([sink], { writeTimeoutMs: 50 });
    await events.start();
    const release = sink.hold();
    const err = await rejection(events.emit(issued, { failClosed: true }));
    expect((err as BrokerError).code).toBe('audit_unavailable');
    release();
    await events.flush();
    expect(sink.seqs).toEqual([0, 1, 2]);
  });

  it('does not wait on best-effort sinks for issuance', async () => {
    const required = new MemorySink('stream', 'required');
    const optional = new MemorySink('webhook', 'best_effort');
    const { bus: events } = bus([required, optional]);
    await events.start();
    optional.hold();
    await events.emit(issued, { failClosed: true });
    expect(required.seqs).toEqual([0, 1]);
  });

  it('never waits on sinks for revocation, and delivers once the sink recovers', async () => {
    const sink = new MemorySink('stream', 'required');
    const { bus: events } = bus([sink], { checkpoint: { maxDelayMs: 60_000 } });
    await events.start();
    const release = sink.hold();
    sink.failing = true;
    await events.emit(revoked, { failClosed: false });
    await events.emit(revoked);
    expect(events.stats().sinks.stream?.queued).toBe(2);
    release();
    await vi.waitFor(() => expect(sink.attempts).toBeGreaterThan(2));
    sink.failing = false;
    // Recovery is noticed by the background retry alone: no flush, no new emit.
    await vi.waitFor(() => expect(sink.seqs).toEqual([0, 1, 2]), { timeout: 2000 });
    expect(events.stats().sinks.stream).toMatchObject({ written: 3, queued: 0, dropped: 0 });
    expect(verifyChain(sink.events, events.publicKeyJwk)).toEqual({ ok: true, unsignedTail: 2 });
  });

  it('drops for a full best-effort sink, counting and reporting every drop', async () => {
    const optional = new MemorySink('webhook', 'best_effort');
    const required = new MemorySink('stream', 'required');
    const { bus: events, errors } = bus([optional, required], { maxQueue: 5, batchSize: 2 });
    await events.start();
    await events.flush();
    const release = optional.hold();
    for (let n = 0; n < 20; n += 1) await events.emit(revoked);
    await vi.waitFor(() => expect(required.seqs).toHaveLength(21));
    const stats = events.stats().sinks.webhook;
    // One batch of 2 is in flight and stays queued with 3 more; the other 15 are dropped.
    expect(stats).toMatchObject({ dropped: 15, queued: 5 });
    expect(errors.filter((entry) => entry.sink === 'webhook')).toHaveLength(15);
    release();
    await vi.waitFor(() => expect(events.stats().sinks.webhook?.queued).toBe(0));
    expect(events.stats().sinks.webhook).toMatchObject({ written: 6, dropped: 15, queued: 0 });
    expect(optional.seqs).toEqual([0, 1, 2, 3, 4, 5]);
    // The checkpoint flush signs (seq 21) reaches the sink again, gaps and all.
    await events.flush();
    expect(optional.seqs).toEqual([0, 1, 2, 3, 4, 5, 21]);
  });

  it('refuses issuance before chaining when a required sink is backlogged', async () => {
    const sink = new MemorySink('stream', 'required');
    const { bus: events } = bus([sink], { maxQueue: 3 });
    await events.start();
    sink.hold();
    for (let n = 0; n < 3; n += 1) await events.emit(revoked);
    const before = events.stats().emitted;
    const err = await rejection(events.emit(issued, { failClosed: true }));
    expect((err as BrokerError).code).toBe('audit_unavailable');
    expect(events.stats().emitted).toBe(before);
  });

  it('rejects start with audit_unavailable when a required sink is down', async () => {
    const sink = new MemorySink('stream', 'required');
    sink.failing = true;
    const { bus: events } = bus([sink]);
    const err = await rejection(events.start());
    expect((err as BrokerError).code).toBe('audit_unavailable');
  });

  it('redacts secrets before anything is chained or written', async () => {
    const sink = new MemorySink('stream', 'required');
    const seen: BrokerEvent[] = [];
    const { bus: events } = bus([sink]);
    events.subscribe((event) => seen.push(event));
    await events.emit(
      { ...issued, scope: { db: 'orders', password: 'hunter2' }, token_sha256: 'ab'.repeat(32) },
      { failClosed: true },
    );
    for (const event of [sink.events.at(-1), seen.at(-1)]) {
      expect(JSON.stringify(event)).not.toContain('hunter2');
      expect(event?.token_sha256).toBe('ab'.repeat(32));
    }
    expect(events.stats().redacted).toBe(1);
    await events.flush();
    expect(verifyChain(sink.events, events.publicKeyJwk)).toEqual({ ok: true });
  });

  it('feeds subscribers live and isolates one that throws', async () => {
    const { bus: events, errors } = bus([]);
    const seen: number[] = [];
    events.subscribe(() => {
      throw new Error('listener broke');
    });
    const unsubscribe = events.subscribe((event) => seen.push(event.seq));
    await events.start();
    await events.emit(revoked);
    unsubscribe();
    await events.emit(revoked);
    expect(seen).toEqual([0, 1]);
    expect(errors.filter((entry) => entry.sink === 'subscriber')).toHaveLength(3);
  });

  it('flushes and closes its sinks on close, and drops what comes after', async () => {
    const sink = new MemorySink('stream', 'required');
    const { bus: events } = bus([sink]);
    await events.start();
    await events.emit(revoked);
    await events.close();
    expect(sink.closed).toBe(true);
    expect(sink.seqs).toEqual([0, 1, 2]);
    expect(sink.events.at(-1)?.type).toBe('chain.checkpoint');
    expect(verifyChain(sink.events, events.publicKeyJwk)).toEqual({ ok: true });
    await events.emit(revoked);
    expect(events.stats().sinks.stream?.dropped).toBe(1);
    const err = await rejection(events.emit(issued, { failClosed: true }));
    expect((err as BrokerError).code).toBe('audit_unavailable');
  });

  it('does not let a hung sink hang close', async () => {
    const sink = new MemorySink('stream', 'best_effort');
    const { bus: events } = bus([sink], { writeTimeoutMs: 50 });
    await events.start();
    await events.flush();
    sink.hold();
    await events.emit(revoked);
    await events.close();
    expect(sink.closed).toBe(true);
    expect(sink.seqs).toEqual([0]);
    // The event and the checkpoint close signed.
    expect(events.stats().sinks.stream?.queued).toBe(2);
  });

  it('signs a checkpoint after every 100 unsigned events', async () => {
    const sink = new MemorySink('stream', 'required');
    const { bus: events } = bus([sink], { checkpoint: { maxDelayMs: 60_000 } });
    await events.start();
    for (let n = 0; n < 250; n += 1) await events.emit(revoked);
    await vi.waitFor(() => expect(sink.seqs).toHaveLength(253));
    const checkpoints = sink.events.filter((event) => event.type === 'chain.checkpoint');
    expect(checkpoints.map((event) => event.seq)).toEqual([101, 202]);
    expect(checkpoints.map((event) => event.detail?.upto_seq)).toEqual([100, 201]);
    expect(checkpoints.every((event) => typeof event.sig === 'string')).toBe(true);
    expect(verifyChain(sink.events, events.publicKeyJwk)).toEqual({ ok: true, unsignedTail: 50 });
  });

  it('honours a configured cadence', async () => {
    const sink = new MemorySink('stream', 'required');
    const { bus: events } = bus([sink], { checkpoint: { everyEvents: 3, maxDelayMs: 60_000 } });
    await events.start();
    for (let n = 0; n < 7; n += 1) await events.emit(revoked);
    await vi.waitFor(() => expect(sink.seqs).toHaveLength(10));
    expect(sink.events.map((event) => event.type === 'chain.checkpoint')).toEqual([
      false,
      false,
      false,
      false,
      true,
      false,
      false,
      false,
      true,
      false,
    ]);
  });

  it('signs a checkpoint at most maxDelayMs after an unsigned event', async () => {
    vi.useFakeTimers();
    try {
      const sink = new MemorySink('stream', 'required');
      const { bus: events } = bus([sink], { checkpoint: { maxDelayMs: 1_000 } });
      await events.start();
      await events.emit(revoked);
      await vi.advanceTimersByTimeAsync(600);
      await events.emit(revoked);
      await vi.advanceTimersByTimeAsync(300);
      expect(sink.events.map((event) => event.type)).toEqual([
        'chain.genesis',
        'lease.revoked',
        'lease.revoked',
      ]);
      // 1 s after the first unsigned event, however many followed it.
      await vi.advanceTimersByTimeAsync(100);
      expect(sink.events.at(-1)).toMatchObject({
        type: 'chain.checkpoint',
        seq: 3,
        detail: { upto_seq: 2 },
      });
      expect(verifyChain(sink.events, events.publicKeyJwk)).toEqual({ ok: true });
      // Nothing unsigned, nothing to sign.
      await vi.advanceTimersByTimeAsync(5_000);
      expect(sink.seqs).toEqual([0, 1, 2, 3]);
      await events.flush();
      expect(sink.seqs).toEqual([0, 1, 2, 3]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not keep the process alive for a pending checkpoint', async () => {
    const { bus: events } = bus([new MemorySink('stream', 'required')]);
    const timeout = vi.spyOn(globalThis, 'setTimeout');
    try {
      await events.emit(revoked);
      const timer = timeout.mock.results.at(-1)?.value as NodeJS.Timeout;
      expect(timer.hasRef()).toBe(false);
    } finally {
      timeout.mockRestore();
    }
    await events.close();
  });

  it('refuses a checkpoint cadence that would never sign', () => {
    expect(() => new EventBus({ sinks: [], checkpoint: { everyEvents: 0 } })).toThrow(TypeError);
    expect(() => new EventBus({ sinks: [], checkpoint: { maxDelayMs: 0 } })).toThrow(TypeError);
  });

  it('refuses two sinks with one name', () => {
    expect(
      () =>
        new EventBus({
          sinks: [new MemorySink('s', 'required'), new MemorySink('s', 'best_effort')],
        }),
    ).toThrow(TypeError);
  });
});

describe('stdoutSink', () => {
  async function written(format: 'json' | 'ocsf'): Promise<Record<string, unknown>[]> {
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const events = new EventBus({ sinks: [stdoutSink({ stream, format })] });
    await events.start();
    await events.emit({ ...revoked, lease_id: 'lse_1' });
    await events.flush();
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    return text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it('writes one native JSON event per line', async () => {
    const lines = await written('json');
    expect(lines.map((line) => line.seq)).toEqual([0, 1, 2]);
    expect(lines[1]).toMatchObject({ type: 'lease.revoked', lease_id: 'lse_1' });
  });

  it('writes OCSF when asked', async () => {
    const lines = await written('ocsf');
    expect(lines.map((line) => line.class_uid)).toEqual([6003, 6003, 6003]);
    expect(lines[1]).toMatchObject({ type_uid: 600304, unmapped: { seq: 1, lease_id: 'lse_1' } });
  });

  it('is best effort unless told otherwise', () => {
    expect(stdoutSink({ stream: new PassThrough() }).mode).toBe('best_effort');
    expect(stdoutSink({ stream: new PassThrough(), mode: 'required' }).mode).toBe('required');
  });
});
