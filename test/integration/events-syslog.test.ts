import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerError } from '../../src/errors.js';
import { EventBus } from '../../src/events/bus.js';
import { verifyChain } from '../../src/events/chain.js';
import type { EventSink } from '../../src/events/sink.js';
import { type SyslogSinkOptions, syslogSink } from '../../src/events/sinks/syslog/index.js';
import type { BrokerEvent, EventInput } from '../../src/events/types.js';
import {
  makeCa,
  makeServerCert,
  parseSyslog,
  type SyslogReceiver,
  sdParams,
  startStreamReceiver,
  startUdpReceiver,
} from '../helpers/syslog-receiver.js';

const BOM = '\uFEFF';
const revoked: EventInput = { type: 'lease.revoked', outcome: 'success', workload: 'agent-a' };

/** Everything a test opened, closed after it whatever happened. */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function receiver(start: Promise<SyslogReceiver>): Promise<SyslogReceiver> {
  const started = await start;
  cleanups.push(() => started.stop());
  return started;
}

function sink(options: Partial<SyslogSinkOptions> & Pick<SyslogSinkOptions, 'port'>) {
  const made = syslogSink({
    name: 'syslog',
    host: '127.0.0.1',
    transport: 'tcp',
    format: 'json',
    mode: 'required',
    hostname: 'broker-test',
    timeoutMs: 1_000,
    ...options,
  });
  cleanups.push(() => made.close());
  return made;
}

function newBus(target: EventSink, onError?: (sink: string, err: unknown) => void): EventBus {
  const bus = new EventBus({
    sinks: [target],
    retry: { baseMs: 10, maxMs: 50 },
    writeTimeoutMs: 2_000,
    // Checkpoints by count and on flush only, so message counts do not depend on timing.
    checkpoint: { maxDelayMs: 60_000 },
    ...(onError === undefined ? {} : { onError }),
  });
  cleanups.push(() => bus.close());
  return bus;
}

/** The events carried by RFC 5424 messages with a JSON MSG, checking each envelope. */
function jsonEvents(messages: readonly string[]): BrokerEvent[] {
  return messages.map((message) => {
    const parsed = parseSyslog(message);
    expect(parsed.version).toBe(1);
    expect(parsed.hostname).toBe('broker-test');
    expect(parsed.appName).toBe('jit-broker');
    expect(parsed.msg.startsWith(BOM)).toBe(true);
    const event = JSON.parse(parsed.msg.slice(BOM.length)) as BrokerEvent;
    expect(parsed.msgId).toBe(event.type);
    expect(parsed.timestamp).toBe(event.time);
    expect(sdParams(parsed.structuredData, 'jit@32473')).toEqual({
      instance: event.instance,
      seq: String(event.seq),
    });
    return event;
  });
}

function seqs(count: number): number[] {
  return Array.from({ length: count }, (_, seq) => seq);
}

/** A chained event to hand a sink directly. */
async function someEvent(input: EventInput = revoked): Promise<BrokerEvent> {
  const bus = new EventBus({ sinks: [] });
  let captured: BrokerEvent | undefined;
  bus.subscribe((event) => {
    if (event.type === input.type) captured = event;
  });
  await bus.emit(input);
  await bus.close();
  if (captured === undefined) throw new Error('no event');
  return captured;
}

describe('syslog sink over UDP', () => {
  it('sends one datagram per event, complete and in order, as a chain that verifies', async () => {
    const udp = await receiver(startUdpReceiver());
    const events = newBus(sink({ port: udp.port, transport: 'udp', mode: 'best_effort' }));
    await events.start();
    for (let n = 0; n < 40; n += 1) await events.emit({ ...revoked, lease_id: `lse_${n}` });
    await events.flush();
    // Genesis, 40 events, the checkpoint signed on flush.
    const chain = jsonEvents(await udp.waitFor(42));
    expect(chain.map((event) => event.seq)).toEqual(seqs(42));
    expect(chain[5]?.lease_id).toBe('lse_4');
    expect(verifyChain(chain, events.publicKeyJwk)).toEqual({ ok: true });
    expect(events.stats().sinks.syslog).toMatchObject({ written: 42, failed: 0 });
  });

  it('rejects a batch holding an event too big for one datagram, sending none of it', async () => {
    const udp = await receiver(startUdpReceiver());
    const target = sink({ port: udp.port, transport: 'udp' });
    const small = await someEvent();
    const big = { ...small, reason: 'x'.repeat(70_000) };
    await expect(target.write([small, big])).rejects.toThrow(/UDP datagram/);
    await target.write([small]);
    const messages = await udp.waitFor(1);
    // Give a stray datagram from the failed batch time to show up, then check there was none.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(messages).toHaveLength(1);
    expect(udp.messages).toHaveLength(1);
    expect(jsonEvents(udp.messages)[0]?.reason).toBeUndefined();
  });
});

describe('syslog sink over TCP', () => {
  it('frames every event with octet counting on one connection, in seq order', async () => {
    const tcp = await receiver(startStreamReceiver());
    const events = newBus(sink({ port: tcp.port }));
    await events.start();
    const pending: Promise<void>[] = [];
    for (let n = 0; n < 250; n += 1) {
      // Multi-byte text: MSG-LEN must count octets, not characters.
      const input = { ...revoked, lease_id: `lse_${n}`, reason: `révoqué ✓ ${n}` };
      pending.push(events.emit(input, { failClosed: n % 50 === 0 }));
    }
    await Promise.all(pending);
    await events.flush();
    // Genesis, 250 events, checkpoints after every 100 (seq 101, 202) and on flush (253).
    const chain = jsonEvents(await tcp.waitFor(254));
    expect(tcp.errors).toEqual([]);
    expect(chain.map((event) => event.seq)).toEqual(seqs(254));
    expect(chain[1]?.reason).toBe('révoqué ✓ 0');
    expect(verifyChain(chain, events.publicKeyJwk)).toEqual({ ok: true });
    expect(tcp.connections).toBe(1);
  });

  it('fails writes while the receiver is gone, then delivers everything once it is back', async () => {
    const tcp = await receiver(startStreamReceiver());
    const errors: unknown[] = [];
    const events = newBus(sink({ port: tcp.port }), (_, err) => errors.push(err));
    await events.start();
    for (let n = 0; n < 20; n += 1) await events.emit(revoked, { failClosed: true });
    await tcp.waitFor(21);

    await tcp.stop();
    for (let n = 0; n < 30; n += 1) await events.emit({ ...revoked, lease_id: `down_${n}` });
    const refused = await events.emit(revoked, { failClosed: true }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(BrokerError);
    expect((refused as BrokerError).code).toBe('audit_unavailable');
    expect(errors.length).toBeGreaterThan(0);
    expect(String(errors[0])).toMatch(/tcp:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    expect(events.stats().sinks.syslog?.failed).toBeGreaterThan(0);
    expect(tcp.messages).toHaveLength(21);

    await tcp.restart();
    await events.flush();
    // Genesis, 20 + 30 + 1 events, and the checkpoint signed on flush: nothing lost, nothing twice.
    const chain = jsonEvents(await tcp.waitFor(53));
    expect(chain.map((event) => event.seq)).toEqual(seqs(53));
    expect(chain[21]?.lease_id).toBe('down_0');
    expect(verifyChain(chain, events.publicKeyJwk)).toEqual({ ok: true });
    expect(tcp.errors).toEqual([]);
    expect(tcp.connections).toBe(2);
  });

  it('notices a connection the receiver reset while idle, and loses nothing', async () => {
    const tcp = await receiver(startStreamReceiver());
    const events = newBus(sink({ port: tcp.port }));
    await events.start();
    await events.emit(revoked, { failClosed: true });
    await tcp.waitFor(2);
    // The receiver crashes and comes straight back: the sink's connection is dead, but
    // until it reads the RST a write into it would seem to succeed and be lost.
    await tcp.stop({ reset: true });
    await tcp.restart();
    await events.emit({ ...revoked, lease_id: 'after' }, { failClosed: true });
    await events.flush();
    const chain = jsonEvents(await tcp.waitFor(4));
    expect(chain.map((event) => event.seq)).toEqual(seqs(4));
    expect(chain[2]?.lease_id).toBe('after');
    expect(verifyChain(chain, events.publicKeyJwk)).toEqual({ ok: true });
  });

  it('closes its connection cleanly on close(), and takes nothing after', async () => {
    const tcp = await receiver(startStreamReceiver());
    const target = sink({ port: tcp.port });
    const event = await someEvent();
    await target.write([event, event]);
    await tcp.waitFor(2);
    await target.close();
    // The receiver saw the connection end on a frame boundary, and it is gone.
    await tcp.stop();
    expect(tcp.errors).toEqual([]);
    await expect(target.write([event])).rejects.toThrow(/closed/);
  });

  it('sends CEF end to end, escaped, without a BOM', async () => {
    const tcp = await receiver(startStreamReceiver());
    const events = newBus(sink({ port: tcp.port, format: 'cef' }));
    await events.start();
    await events.emit(
      {
        type: 'credential.denied',
        outcome: 'denied',
        severity: 'high',
        workload: 'team|a=b',
        reason: 'no rule\nmatched',
        source_ip: '198.51.100.7',
      },
      { failClosed: true },
    );
    await events.emit({ ...revoked, lease_id: 'lse_9' }, { failClosed: true });
    const messages = await tcp.waitFor(3);
    expect(tcp.errors).toEqual([]);
    const parsed = messages.map(parseSyslog);
    expect(parsed.map((message) => message.msgId)).toEqual([
      'chain.genesis',
      'credential.denied',
      'lease.revoked',
    ]);
    for (const message of parsed) {
      expect(message.msg.startsWith('CEF:0|jit-broker|jit-broker|1|')).toBe(true);
      expect(message.msg).not.toContain(BOM);
    }
    const [, denied, lease] = parsed.map((message) => message.msg);
    expect(denied).toMatch(/^CEF:0\|jit-broker\|jit-broker\|1\|credential\.denied\|[^|]+\|8\|/);
    expect(denied).toContain(' suser=team|a\\=b ');
    expect(denied).toContain(' reason=no rule\\nmatched ');
    expect(denied).toContain(' src=198.51.100.7 ');
    expect(lease).toContain(' externalId=lse_9 ');
    expect(parsed[2]?.severity).toBe(6);
    expect(parsed[1]?.severity).toBe(3);
    expect(parsed.map((message) => /(?:^| )cn1=(\d+)(?: |$)/.exec(message.msg)?.[1])).toEqual([
      '0',
      '1',
      '2',
    ]);
  });
});

describe('syslog sink over TLS', () => {
  const ca = makeCa('jit-broker test CA');
  const otherCa = makeCa('some other CA');
  const serverCert = makeServerCert(ca);

  it('delivers over a verified connection to a server of a private CA', async () => {
    const tls = await receiver(startStreamReceiver({ tls: serverCert }));
    const events = newBus(sink({ port: tls.port, transport: 'tls', tls: { ca: ca.cert } }));
    await events.start();
    for (let n = 0; n < 10; n += 1) {
      await events.emit({ ...revoked, lease_id: `lse_${n}` }, { failClosed: true });
    }
    await events.flush();
    const chain = jsonEvents(await tls.waitFor(12));
    expect(tls.errors).toEqual([]);
    expect(chain.map((event) => event.seq)).toEqual(seqs(12));
    expect(verifyChain(chain, events.publicKeyJwk)).toEqual({ ok: true });
    expect(tls.connections).toBe(1);
  });

  it('gives up after timeoutMs on a server that never completes the handshake', async () => {
    const silent = new Set<Socket>();
    const server = createServer((socket) => {
      silent.add(socket);
      socket.resume(); // reads (so it sees the client go) but never answers
      socket.on('close', () => silent.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of silent) socket.destroy();
          server.close(() => resolve());
        }),
    );
    const address = server.address();
    if (address === null || typeof address !== 'object') throw new Error('no address');
    const target = sink({ port: address.port, transport: 'tls', timeoutMs: 200, tls: {} });
    await expect(target.write([await someEvent()])).rejects.toThrow(/no answer within 200 ms/);
    // The half-open connection is not kept for the next write.
    await expect.poll(() => silent.size, { timeout: 10_000 }).toBe(0);
  });

  it('refuses a server its CA did not sign, or whose name does not match', async () => {
    const tls = await receiver(startStreamReceiver({ tls: serverCert }));
    const event = await someEvent();
    const tlsSink = (tlsOptions: SyslogSinkOptions['tls']) =>
      sink({
        port: tls.port,
        transport: 'tls',
        ...(tlsOptions === undefined ? {} : { tls: tlsOptions }),
      });

    await expect(tlsSink({ ca: otherCa.cert }).write([event])).rejects.toThrow(/certificate/);
    // Verification is on by default: Node's bundled roots do not know the test CA.
    await expect(tlsSink(undefined).write([event])).rejects.toThrow(/certificate/);
    await expect(
      tlsSink({ ca: ca.cert, servername: 'wrong.example' }).write([event]),
    ).rejects.toThrow(/altnames|does not match/i);
    expect(tls.messages).toEqual([]);

    // The same options with a name the certificate carries work (SNI and identity check).
    await tlsSink({ ca: ca.cert, servername: 'localhost' }).write([event]);
    // Turning verification off, explicitly, lets the wrong CA through.
    await tlsSink({ ca: otherCa.cert, rejectUnauthorized: false }).write([event]);
    expect(jsonEvents(await tls.waitFor(2)).map((received) => received.id)).toEqual([
      event.id,
      event.id,
    ]);
  });
});
