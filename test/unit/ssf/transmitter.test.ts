import { generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { BrokerEvent, EventInput } from '../../../src/events/types.js';
import { createLogger } from '../../../src/lib/logger.js';
import { ssfSchema } from '../../../src/ssf/config.js';
import { readSetSigningKey } from '../../../src/ssf/key.js';
import { SsfMetrics } from '../../../src/ssf/metrics.js';
import { MemoryDeliveryQueue } from '../../../src/ssf/queue.js';
import { signalsOf } from '../../../src/ssf/signals.js';
import { SsfTransmitter } from '../../../src/ssf/transmitter.js';
import { eventually } from '../../helpers/lease-http.js';

const KEY = generateKeyPairSync('ed25519')
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

function event(type: BrokerEvent['type'], fields: Partial<BrokerEvent> = {}): BrokerEvent {
  return {
    id: `evt_${Math.random().toString(36).slice(2)}`,
    time: new Date().toISOString(),
    type,
    outcome: 'success',
    severity: 'info',
    instance: 'i1',
    seq: 1,
    prev: '0'.repeat(64),
    workload: 'agent-a',
    ...fields,
  };
}

interface Push {
  url: string;
  token: string;
  redirect: string | undefined;
  contentType: string | undefined;
}

function transmitter(
  receivers: Record<string, unknown>[],
  answer: (push: Push) => Response | Promise<Response>,
  delivery: Record<string, unknown> = {},
  options: { batch?: number; lane?: number } = {},
) {
  const queue = new MemoryDeliveryQueue();
  const pushes: Push[] = [];
  const emitted: EventInput[] = [];
  const config = ssfSchema.parse({
    signing_key: { private_key: KEY },
    receivers,
    delivery: { backoff_base: '10ms', backoff_max: '20ms', ...delivery },
  });
  const t = new SsfTransmitter({
    config,
    issuer: 'https://broker.example',
    key: readSetSigningKey(KEY),
    queue,
    ...options,
    events: {
      emit: async (e) => {
        emitted.push(e);
      },
    },
    logger: createLogger({
      destination: new Writable({ write: (_c, _e, cb) => cb() }),
    }),
    metrics: new SsfMetrics(new Registry()),
    pollMs: 20,
    fetch: async (input, init) => {
      const push = {
        url: String(input),
        token: String(init?.body),
        redirect: init?.redirect,
        contentType: (init?.headers as Record<string, string> | undefined)?.['content-type'],
      };
      pushes.push(push);
      // As a real fetch does, the request's signal ends the wait for an answer.
      const signal = init?.signal;
      return new Promise<Response>((resolve, reject) => {
        signal?.addEventListener('abort', () => reject(signal.reason));
        Promise.resolve(answer(push)).then(resolve, reject);
      });
    },
  });
  t.start();
  return { t, pushes, emitted, queue };
}

const receiver = (name: string, fields: Record<string, unknown> = {}) => ({
  name,
  url: `https://${name}.example/caep`,
  audience: `https://${name}.example`,
  ...fields,
});

describe('which events become which SETs', () => {
  it('kill switch, block and task end: session-revoked for the workload (or task)', () => {
    expect(signalsOf(event('workload.revoking')).map((s) => s.kind)).toEqual(['session-revoked']);
    const [blocked] = signalsOf(
      event('workload.revoking', { reason: 'leak', detail: { block: true } }),
    );
    expect(blocked?.payload.reason_admin).toEqual({ en: 'workload blocked: leak' });
    const task = signalsOf(event('task.ended', { task: { id: 't1', intent: 'x' } }))[0];
    expect(task?.jit).toEqual({ workload: 'agent-a', task_id: 't1' });
  });

  it("a kill switch's end says nothing more: its start already told the holders", () => {
    expect(signalsOf(event('workload.revoked'))).toEqual([]);
    expect(signalsOf(event('workload.blocked'))).toEqual([]);
  });

  it('an operator lease revocation: session-revoked and credential-change for the lease', () => {
    const signals = signalsOf(event('lease.revoked', { lease_id: 'lse_1', reason: 'operator' }));
    expect(signals.map((s) => s.kind)).toEqual(['session-revoked', 'credential-change']);
  });

  it('leases covered by a workload or task SET, or never handed out, send nothing of their own', () => {
    for (const reason of ['workload_revoked', 'task_ended', 'expired', 'pending_timeout']) {
      expect(signalsOf(event('lease.revoked', { lease_id: 'lse_1', reason }))).toEqual([]);
    }
    for (const type of ['credential.issued', 'lease.expired', 'auth.failed'] as const) {
      expect(signalsOf(event(type, { lease_id: 'lse_1' }))).toEqual([]);
    }
  });
});

describe('the transmitter', () => {
  it('addresses each receiver by its own aud, and filters by event type and workload', async () => {
    const { t, pushes } = transmitter(
      [
        receiver('all'),
        receiver('changes', { events: ['credential-change'] }),
        receiver('agents-b', { workloads: ['agent-b*'] }),
      ],
      () => new Response(null, { status: 202 }),
    );
    t.observe(event('lease.revoked', { lease_id: 'lse_1', reason: 'owner' }));
    expect(await eventually(async () => pushes.length === 3, 2_000)).toBe(true);
    await t.stop();
    const seen = pushes.map((p) => {
      const claims = decodeJwt(p.token);
      return `${claims.aud} ${Object.keys(claims.events as object)[0]
        ?.split('/')
        .at(-1)}`;
    });
    expect(seen.sort()).toEqual([
      'https://all.example credential-change',
      'https://all.example session-revoked',
      'https://changes.example credential-change',
    ]);
    expect(decodeProtectedHeader(pushes[0]?.token ?? '')).toMatchObject({
      typ: 'secevent+jwt',
      alg: 'EdDSA',
    });
  });

  it('a retried SET keeps its jti and gets a fresh iat', async () => {
    let calls = 0;
    const { t, pushes } = transmitter(
      [receiver('r')],
      () => new Response(null, { status: ++calls < 3 ? 500 : 202 }),
    );
    t.observe(event('workload.revoking'));
    expect(await eventually(async () => pushes.length === 3, 2_000)).toBe(true);
    await t.stop();
    const jtis = new Set(pushes.map((p) => decodeJwt(p.token).jti));
    expect(jtis.size).toBe(1);
  });

  it('a 400 with an RFC 8935 error is final: no retry, ssf.delivery_failed names the err code', async () => {
    const { t, pushes, emitted } = transmitter([receiver('r')], () =>
      Response.json({ err: 'invalid_audience', description: 'not me' }, { status: 400 }),
    );
    t.observe(event('workload.revoking'));
    expect(await eventually(async () => emitted.length === 1, 2_000)).toBe(true);
    await t.stop();
    expect(pushes).toHaveLength(1);
    expect(emitted[0]).toMatchObject({
      type: 'ssf.delivery_failed',
      reason: 'refused',
      detail: { error: 'http 400 invalid_audience', receiver: 'r' },
    });
    // The receiver's free text is never repeated.
    expect(JSON.stringify(emitted)).not.toContain('not me');
  });

  it('a redirect is not followed, and is retried', async () => {
    let calls = 0;
    const { t, pushes } = transmitter([receiver('r')], () =>
      ++calls === 1
        ? new Response(null, { status: 307, headers: { location: 'https://elsewhere.example' } })
        : new Response(null, { status: 202 }),
    );
    t.observe(event('workload.revoking'));
    expect(await eventually(async () => pushes.length === 2, 2_000)).toBe(true);
    await t.stop();
    expect(pushes.every((p) => p.url === 'https://r.example/caep')).toBe(true);
    expect(pushes.every((p) => p.redirect === 'manual')).toBe(true);
    expect(pushes[0]?.contentType).toBe('application/secevent+jwt');
  });

  it('observing never waits for the receiver', async () => {
    let release: () => void = () => {};
    const held = new Promise<Response>((r) => {
      release = () => r(new Response(null, { status: 202 }));
    });
    const { t, pushes } = transmitter([receiver('r')], () => held);
    const returned = t.observe(event('workload.revoking'));
    expect(returned).toBeUndefined();
    expect(await eventually(async () => pushes.length === 1, 2_000)).toBe(true);
    release();
    await t.stop();
  });

  it('a receiver that hangs holds up no other receiver, and has at most `lane` pushes in flight', async () => {
    let open = false;
    const held: (() => void)[] = [];
    const { t, pushes } = transmitter(
      [
        receiver('stuck', { workloads: ['agent-s*'] }),
        receiver('live', { workloads: ['agent-l*'] }),
      ],
      (push) =>
        push.url.startsWith('https://stuck.') && !open
          ? new Promise<Response>((resolve) => {
              held.push(() => resolve(new Response(null, { status: 202 })));
            })
          : new Response(null, { status: 202 }),
      {},
      { batch: 4, lane: 2 },
    );
    for (let i = 0; i < 10; i++) t.observe(event('workload.revoking', { workload: `agent-s${i}` }));
    expect(await eventually(async () => held.length === 2, 2_000)).toBe(true);
    t.observe(event('workload.revoking', { workload: 'agent-live' }));
    const live = () => pushes.filter((p) => p.url.startsWith('https://live.')).length;
    expect(await eventually(async () => live() === 1, 2_000)).toBe(true);
    // The stuck receiver's lane stayed full: none of its other SETs was pushed meanwhile.
    expect(held).toHaveLength(2);
    open = true;
    for (const release of held) release();
    const stuck = () => pushes.filter((p) => p.url.startsWith('https://stuck.')).length;
    expect(await eventually(async () => stuck() === 10, 2_000)).toBe(true);
    await t.stop();
  });

  it('a SET that cannot be signed is a failed attempt: it ends reported and stops no other', async () => {
    const { t, pushes, emitted, queue } = transmitter(
      [receiver('r')],
      () => new Response(null, { status: 202 }),
      { max_attempts: 2 },
    );
    const [good] = signalsOf(event('workload.revoking'));
    if (good === undefined) throw new Error('no signal');
    const poison = { ...good, payload: { n: 10n } };
    await queue.enqueue(
      [
        { id: 'set_poison', receiver: 'r', signal: poison, attempts: 0, queuedAt: 1 },
        { id: 'set_good', receiver: 'r', signal: good, attempts: 0, queuedAt: 2 },
      ],
      100,
    );
    t.wake();
    expect(await eventually(async () => emitted.length === 1, 2_000)).toBe(true);
    await t.stop();
    expect(pushes.map((p) => decodeJwt(p.token).jti)).toEqual(['set_good']);
    expect(emitted[0]).toMatchObject({
      type: 'ssf.delivery_failed',
      reason: 'attempts_exhausted',
      detail: { set_jti: 'set_poison', error: 'not signed: TypeError', attempts: 2 },
    });
    expect(await queue.depth()).toBe(0);
  });

  it('a push that gets no answer is abandoned at `timeout` and counted as a failed attempt', async () => {
    const { t, emitted } = transmitter(
      [receiver('r')],
      // Answers nothing: only the transmitter's own deadline ends the push.
      () => new Promise<Response>(() => {}),
      { timeout: '100ms', max_attempts: 1 },
    );
    t.observe(event('workload.revoking'));
    expect(await eventually(async () => emitted.length === 1, 3_000)).toBe(true);
    await t.stop();
    expect(emitted[0]).toMatchObject({
      type: 'ssf.delivery_failed',
      reason: 'attempts_exhausted',
      detail: { error: 'timeout', attempts: 1 },
    });
  });

  it("a receiver's error body is read no further than 4 KiB", async () => {
    let pulled = 0;
    const endless = () =>
      new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled += 1_024;
          controller.enqueue(new Uint8Array(1_024).fill(0x7b));
        },
      });
    const { t, emitted } = transmitter(
      [receiver('r')],
      () => new Response(endless(), { status: 400 }),
      { timeout: '2s' },
    );
    t.observe(event('workload.revoking'));
    expect(await eventually(async () => emitted.length === 1, 3_000)).toBe(true);
    await t.stop();
    expect(emitted[0]).toMatchObject({ reason: 'refused', detail: { error: 'http 400' } });
    expect(pulled).toBeLessThan(64 * 1_024);
  });
});
