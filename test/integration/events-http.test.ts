import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerError } from '../../src/errors.js';
import { EventBus, type EventBusOptions } from '../../src/events/bus.js';
import { verifyChain } from '../../src/events/chain.js';
import type { EventSink } from '../../src/events/sink.js';
import { BATCH_HEADER, type HttpSinkOptions, httpSink } from '../../src/events/sinks/http/index.js';
import type { BrokerEvent, EventInput } from '../../src/events/types.js';
import {
  HEC_ACK_PATH,
  HEC_EVENT_PATH,
  type SplunkHecFake,
  type SplunkHecFakeOptions,
  startSplunkHec,
  WEBHOOK_PATH,
} from '../fakes/splunk-hec.js';
import { settlesBefore } from '../helpers/race.js';

const HEC_TOKEN = `hec-${randomUUID()}`;
const WEBHOOK_TOKEN = `whk-${randomUUID()}`;
const issued: EventInput = { type: 'credential.issued', outcome: 'success', workload: 'agent-a' };
const revoked: EventInput = { type: 'lease.revoked', outcome: 'success', workload: 'agent-a' };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fake(options: Partial<SplunkHecFakeOptions> = {}): Promise<SplunkHecFake> {
  const hec = await startSplunkHec({ token: HEC_TOKEN, webhookToken: WEBHOOK_TOKEN, ...options });
  cleanups.push(() => hec.close());
  return hec;
}

function newBus(sinks: EventSink[], options: Partial<EventBusOptions> = {}) {
  const errors: { sink: string; err: unknown }[] = [];
  const bus = new EventBus({
    sinks,
    onError: (sink, err) => errors.push({ sink, err }),
    retry: { baseMs: 10, maxMs: 50 },
    writeTimeoutMs: 3_000,
    // Checkpoints by count and on flush only, so event counts do not depend on timing.
    checkpoint: { maxDelayMs: 60_000 },
    ...options,
  });
  cleanups.push(() => bus.close());
  return { bus, errors };
}

function webhookSink(hec: SplunkHecFake, overrides: Partial<HttpSinkOptions> = {}): EventSink {
  return httpSink({
    name: 'webhook',
    kind: 'webhook',
    url: hec.webhookUrl,
    format: 'json',
    mode: 'required',
    token: WEBHOOK_TOKEN,
    timeoutMs: 2_000,
    ...overrides,
  });
}

function hecSink(
  hec: SplunkHecFake,
  overrides: Partial<HttpSinkOptions> = {},
  hecOverrides: Partial<NonNullable<HttpSinkOptions['hec']>> = {},
): EventSink {
  return httpSink({
    name: 'splunk',
    kind: 'splunk_hec',
    url: hec.url,
    format: 'json',
    mode: 'required',
    token: HEC_TOKEN,
    timeoutMs: 2_000,
    hec: {
      index: 'security',
      source: 'jit-broker:test',
      ack: false,
      ackTimeoutMs: 1_000,
      ...hecOverrides,
    },
    ...overrides,
  });
}

async function until(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

function seqs(events: readonly unknown[]): number[] {
  return events.map((event) => (event as BrokerEvent).seq);
}

function range(length: number): number[] {
  return Array.from({ length }, (_, seq) => seq);
}

/** Everything an error could leak through: message, stack, cause chain, own fields. */
function errorText(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && depth < 5; depth += 1) {
    if (current instanceof Error) {
      parts.push(current.message, current.stack ?? '', JSON.stringify({ ...current }));
      current = current.cause;
    } else {
      parts.push(String(current));
      current = undefined;
    }
  }
  return parts.join('\n');
}

describe('HTTP event sinks', () => {
  it('webhook: every event arrives once, in seq order, with its batch header', async () => {
    const hec = await fake();
    const { bus } = newBus([webhookSink(hec)], { batchSize: 7 });
    await bus.start();
    const pending: Promise<void>[] = [];
    for (let n = 0; n < 40; n += 1) {
      pending.push(bus.emit({ ...revoked, lease_id: `lse_${n}` }, { failClosed: n % 10 === 0 }));
    }
    await Promise.all(pending);
    await bus.flush();

    // Genesis, 40 events, the checkpoint signed on flush.
    expect(seqs(hec.webhook)).toEqual(range(42));
    expect(hec.webhookBatches.length).toBeGreaterThan(1);
    for (const { batch, events } of hec.webhookBatches) {
      const batchSeqs = seqs(events);
      expect(batch).toBe(`${batchSeqs[0]}-${batchSeqs.at(-1)}`);
      expect(events.length).toBeLessThanOrEqual(7);
    }
    const posts = hec.requests.filter((request) => request.path === WEBHOOK_PATH);
    expect(posts.length).toBe(hec.webhookBatches.length);
    for (const post of posts) {
      expect(post.headers.authorization).toBe(`Bearer ${WEBHOOK_TOKEN}`);
      expect(post.headers['content-type']).toBe('application/json');
      expect(post.headers[BATCH_HEADER]).toMatch(/^\d+-\d+$/);
    }
    expect(verifyChain(hec.webhook as BrokerEvent[], bus.publicKeyJwk)).toEqual({ ok: true });
    expect(bus.stats().sinks.webhook).toMatchObject({ written: 42, failed: 0, queued: 0 });
  });

  it('webhook: OCSF format', async () => {
    const hec = await fake();
    const { bus } = newBus([webhookSink(hec, { format: 'ocsf' })]);
    await bus.start();
    await bus.emit({ ...revoked, lease_id: 'lse_9' }, { failClosed: true });
    expect(hec.webhook).toHaveLength(2);
    expect(hec.webhook.map((event) => (event as { type_uid: number }).type_uid)).toEqual([
      600399, 600304,
    ]);
    expect(hec.webhook[1]).toMatchObject({
      unmapped: { seq: 1, lease_id: 'lse_9', instance: bus.instance },
    });
  });

  it('HEC without ack: each event once, with time, source, sourcetype and index; the chain verifies', async () => {
    const hec = await fake();
    const { bus } = newBus([hecSink(hec)], { batchSize: 10 });
    await bus.start();
    const pending: Promise<void>[] = [];
    for (let n = 0; n < 25; n += 1) {
      pending.push(bus.emit({ ...issued, lease_id: `lse_${n}` }, { failClosed: n % 5 === 0 }));
    }
    await Promise.all(pending);
    await bus.flush();

    expect(seqs(hec.events)).toEqual(range(27));
    for (const envelope of hec.envelopes) {
      const event = envelope.event as BrokerEvent;
      expect(envelope.time).toBe(Date.parse(event.time) / 1000);
      expect(envelope).toMatchObject({
        source: 'jit-broker:test',
        sourcetype: '_json',
        index: 'security',
      });
    }
    // Milliseconds survive as the decimal part of `time`.
    const body = hec.requests.find((request) => request.path === HEC_EVENT_PATH)?.body ?? '';
    expect(body).toMatch(/^\{"time":\d+(\.\d{1,3})?,"source":"jit-broker:test"/);
    for (const request of hec.requests) {
      expect(request.path).toBe(HEC_EVENT_PATH);
      expect(request.headers.authorization).toBe(`Splunk ${HEC_TOKEN}`);
    }
    expect(verifyChain(hec.events as BrokerEvent[], bus.publicKeyJwk)).toEqual({ ok: true });
  });

  it('HEC with ack: a fail-closed emit on a required sink waits until the indexer acks', async () => {
    const ackDelayMs = 300;
    const hec = await fake({ ack: true, ackDelayMs });
    const channel = randomUUID();
    const { bus } = newBus([hecSink(hec, {}, { ack: true, ackPollMs: 25, channel })]);
    await bus.start();

    const started = Date.now();
    await bus.emit(issued, { failClosed: true });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(ackDelayMs - 20);
    const envelope = hec.envelopes.find((entry) => (entry.event as BrokerEvent).seq === 1);
    expect(envelope?.channel).toBe(channel);
    const ackPolls = hec.requests.filter((request) => request.path === HEC_ACK_PATH);
    expect(ackPolls.at(-1)?.body).toBe(JSON.stringify({ acks: [envelope?.ackId] }));
    for (const request of hec.requests) {
      expect(request.headers['x-splunk-request-channel']).toBe(channel);
      expect(request.headers.authorization).toBe(`Splunk ${HEC_TOKEN}`);
    }
    expect(ackPolls.every((poll) => poll.search === `?channel=${channel}`)).toBe(true);
  });

  it('HEC with ack: no acks refuses fail-closed emits, never blocks best_effort, and nothing is lost once acks resume', async () => {
    const hec = await fake({ ack: true });
    const requiredChannel = randomUUID();
    const bestEffortChannel = randomUUID();
    const ackTimeoutMs = 1_000;
    const hecOptions = { ack: true, ackTimeoutMs, ackPollMs: 25 };
    const { bus, errors } = newBus([
      hecSink(hec, { name: 'siem' }, { ...hecOptions, channel: requiredChannel }),
      hecSink(
        hec,
        { name: 'siem_copy', mode: 'best_effort' },
        { ...hecOptions, channel: bestEffortChannel },
      ),
    ]);
    const onlyBestEffortChannel = randomUUID();
    const { bus: relaxed } = newBus([
      hecSink(
        hec,
        { name: 'siem_relaxed', mode: 'best_effort' },
        { ...hecOptions, channel: onlyBestEffortChannel },
      ),
    ]);
    await bus.start();
    await relaxed.start();

    hec.setAckNeverArrives(true);
    const err = await rejection(bus.emit(issued, { failClosed: true }));
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).code).toBe('audit_unavailable');
    expect((err as BrokerError).message).toContain('siem');
    expect(errorText(err)).toContain('not acknowledged by the indexer');
    expect(errors.some((e) => e.sink === 'siem')).toBe(true);

    // Revocation never waits, whatever the sinks do: waiting for an ack would take the whole
    // ack timeout, so the emit must be done well before it.
    expect(await settlesBefore(bus.emit(revoked, { failClosed: false }), ackTimeoutMs / 2)).toBe(
      true,
    );
    // A bus whose only HEC sink is best_effort lets issuance through although nothing is acked.
    const threeEmits = (async () => {
      for (let n = 0; n < 3; n += 1) await relaxed.emit(issued, { failClosed: true });
    })();
    expect(await settlesBefore(threeEmits, ackTimeoutMs / 2)).toBe(true);
    await threeEmits;
    await sleep(ackTimeoutMs + 100);
    expect(relaxed.stats().sinks.siem_relaxed?.queued).toBeGreaterThan(0);

    // A batch in flight when acks resume was sent while they were lost: that attempt still
    // fails, so wait for the retries before issuing again.
    hec.setAckNeverArrives(false);
    const drained = (events: EventBus) =>
      Object.values(events.stats().sinks).every((stats) => stats.queued === 0);
    await until('every sink drained', () => drained(bus) && drained(relaxed));
    await bus.emit(issued, { failClosed: true });
    await bus.flush();
    await relaxed.flush();
    await until('every sink drained again', () => drained(bus) && drained(relaxed));

    for (const [channel, events] of [
      [requiredChannel, bus],
      [bestEffortChannel, bus],
      [onlyBestEffortChannel, relaxed],
    ] as const) {
      const received = hec.envelopes
        .filter((envelope) => envelope.channel === channel)
        .map((envelope) => envelope.event as BrokerEvent);
      const emitted = events.stats().emitted;
      // No event missing...
      expect(new Set(seqs(received))).toEqual(new Set(range(emitted)));
      // ...some sent again because their acks never came...
      expect(received.length).toBeGreaterThan(emitted);
      // ...and every copy is the same event, so a SIEM drops duplicates by instance + seq.
      const first = new Map<string, BrokerEvent>();
      for (const event of received) {
        const key = `${event.instance}/${event.seq}`;
        const seen = first.get(key);
        if (seen === undefined) first.set(key, event);
        else expect(event).toEqual(seen);
      }
      const deduplicated = [...first.values()].sort((a, b) => a.seq - b.seq);
      expect(deduplicated.every((event) => event.instance === events.instance)).toBe(true);
      expect(verifyChain(deduplicated, events.publicKeyJwk)).toEqual({ ok: true });
    }
  });

  it('a wrong token fails every write, reported through onError without the token', async () => {
    const hec = await fake();
    const wrongHec = `wrong-hec-${randomUUID()}`;
    const wrongWebhook = `wrong-webhook-${randomUUID()}`;
    const { bus, errors } = newBus([
      hecSink(hec, { token: wrongHec }),
      webhookSink(hec, { token: wrongWebhook }),
    ]);
    const err = await rejection(bus.start());
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).code).toBe('audit_unavailable');
    await bus.flush();

    const hecError = errors.find((e) => e.sink === 'splunk')?.err;
    expect(hecError).toBeInstanceOf(Error);
    expect((hecError as Error).message).toContain('splunk');
    expect((hecError as Error).message).toContain('403');
    expect((hecError as Error).message).toContain('Invalid token (code 4)');
    expect(hecError).toMatchObject({ status: 403, hecCode: 4 });
    const webhookError = errors.find((e) => e.sink === 'webhook')?.err;
    expect((webhookError as Error).message).toContain('webhook');
    expect((webhookError as Error).message).toContain('401');

    for (const text of [...errors.map((e) => errorText(e.err)), errorText(err)]) {
      expect(text).not.toContain(wrongHec);
      expect(text).not.toContain(wrongWebhook);
    }
    expect(hec.events).toHaveLength(0);
    expect(hec.webhook).toHaveLength(0);
    expect(bus.stats().sinks.splunk?.failed).toBeGreaterThan(0);
  });

  it('a 503 answered once: the bus retries and the batch is delivered once', async () => {
    const hec = await fake();
    const { bus, errors } = newBus([hecSink(hec), webhookSink(hec)]);
    await bus.start();
    hec.failNext(503, { text: 'Server is busy', code: 9 }, HEC_EVENT_PATH);
    hec.failNext(503, 'upstream busy', WEBHOOK_PATH);
    await bus.emit(issued, { failClosed: false });
    // The fake records a batch before it answers: wait for the bus to count it written.
    await until('the retried batches', () =>
      Object.values(bus.stats().sinks).every((stats) => stats.written === 2),
    );

    expect(seqs(hec.events)).toEqual([0, 1]);
    expect(seqs(hec.webhook)).toEqual([0, 1]);
    expect(bus.stats().sinks.splunk).toMatchObject({ written: 2, failed: 1, queued: 0 });
    expect(bus.stats().sinks.webhook).toMatchObject({ written: 2, failed: 1, queued: 0 });
    const hecError = errors.find((e) => e.sink === 'splunk')?.err as Error;
    expect(hecError.message).toContain('503');
    expect(hecError.message).toContain('Server is busy (code 9)');
    const webhookError = errors.find((e) => e.sink === 'webhook')?.err as Error;
    expect(webhookError.message).toContain('503');
    // A webhook's answer is never quoted: the sink cannot tell what it holds.
    expect(webhookError.message).not.toContain('upstream busy');
  });

  it('no secret: the token is in no payload, URL or error, even when a server echoes it', async () => {
    const hec = await fake({ ack: true });
    const { bus, errors } = newBus([
      hecSink(hec, {}, { ack: true, ackTimeoutMs: 200, ackPollMs: 25 }),
      webhookSink(hec),
    ]);
    await bus.start();
    const drained = () =>
      until('the sinks drained', () =>
        Object.values(bus.stats().sinks).every((stats) => stats.queued === 0),
      );
    // Servers that quote the credential back: in HEC's `text`, in a webhook body, in an ack
    // poll's answer.
    hec.failNext(403, { text: `Invalid token ${HEC_TOKEN}`, code: 4 }, HEC_EVENT_PATH);
    hec.failNext(401, `bad bearer ${WEBHOOK_TOKEN}`, WEBHOOK_PATH);
    await bus.emit({ ...issued, reason: 'first' });
    await until('the echoing failures', () =>
      ['splunk', 'webhook'].every((name) => errors.some((e) => e.sink === name)),
    );
    await drained();
    hec.failNext(400, { text: `Invalid data channel for ${HEC_TOKEN}`, code: 11 }, HEC_ACK_PATH);
    const ackErr = await rejection(bus.emit({ ...issued, reason: 'second' }, { failClosed: true }));
    expect(errorText(ackErr)).toContain('Invalid data channel for [redacted] (code 11)');
    await drained();
    // And an indexer that never acknowledges.
    hec.setAckNeverArrives(true);
    const timeoutErr = await rejection(
      bus.emit({ ...issued, reason: 'third' }, { failClosed: true }),
    );
    expect(errorText(timeoutErr)).toContain('not acknowledged');
    hec.setAckNeverArrives(false);
    await drained();
    await bus.emit({ ...issued, reason: 'fourth' }, { failClosed: true });

    // A transport that puts the header into its error, and one that never answers.
    const leaky = httpSink({
      name: 'leaky',
      kind: 'splunk_hec',
      url: hec.url,
      format: 'json',
      mode: 'required',
      token: HEC_TOKEN,
      timeoutMs: 100,
      fetch: async (_url, init) => {
        throw new Error(`socket hang up (${new Headers(init?.headers).get('authorization')})`);
      },
    });
    const hung = httpSink({
      name: 'hung',
      kind: 'webhook',
      url: hec.webhookUrl,
      format: 'json',
      mode: 'best_effort',
      token: WEBHOOK_TOKEN,
      timeoutMs: 100,
      fetch: (_url, init) =>
        new Promise((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
        }),
    });
    const { bus: broken, errors: brokenErrors } = newBus([leaky, hung]);
    await rejection(broken.start());
    await broken.flush();
    await until('both broken sinks to fail', () =>
      ['leaky', 'hung'].every((name) => brokenErrors.some((e) => e.sink === name)),
    );
    expect(errorText(brokenErrors.find((e) => e.sink === 'leaky')?.err)).toContain(
      'socket hang up',
    );
    expect(errorText(brokenErrors.find((e) => e.sink === 'hung')?.err)).toContain(
      'no answer within 100 ms',
    );

    const allErrors = [...errors, ...brokenErrors];
    expect(allErrors.length).toBeGreaterThanOrEqual(4);
    for (const { err } of allErrors) {
      expect(errorText(err)).not.toContain(HEC_TOKEN);
      expect(errorText(err)).not.toContain(WEBHOOK_TOKEN);
    }
    expect(errorText(errors.find((e) => e.sink === 'splunk')?.err)).toContain('[redacted]');

    for (const request of hec.requests) {
      for (const part of [request.path, request.search, request.body]) {
        expect(part).not.toContain(HEC_TOKEN);
        expect(part).not.toContain(WEBHOOK_TOKEN);
      }
    }
    const payloads = JSON.stringify([hec.events, hec.envelopes, hec.webhook]);
    expect(payloads).not.toContain(HEC_TOKEN);
    expect(payloads).not.toContain(WEBHOOK_TOKEN);
    expect(seqs(hec.webhook)).toEqual([0, 1, 2, 3, 4]);
    expect(new Set(seqs(hec.events))).toEqual(new Set([0, 1, 2, 3, 4]));
  });
});
