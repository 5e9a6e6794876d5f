import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerError } from '../../src/errors.js';
import { EventBus } from '../../src/events/bus.js';
import { verifyChain } from '../../src/events/chain.js';
import { createSinks } from '../../src/events/sinks/index.js';
import {
  redisStreamSink,
  STREAM_FIELD,
  streamLag,
} from '../../src/events/sinks/redis-stream/index.js';
import type { BrokerEvent, EventInput } from '../../src/events/types.js';
import { Metrics } from '../../src/metrics.js';
import {
  deletePrefix,
  REDIS_URL,
  redisAvailable,
  requireService,
  uniquePrefix,
} from '../helpers/services.js';

const HOUR = 3_600_000;
const revoked: EventInput = { type: 'lease.revoked', outcome: 'success', workload: 'agent-a' };

let available = false;
let redis: Redis;
const prefix = uniquePrefix('events');

beforeAll(async () => {
  available = await requireService('redis', await redisAvailable());
  if (available) redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  if (!available) return;
  await deletePrefix(redis, prefix);
  await redis.quit();
});

async function readStream(key: string): Promise<{ id: string; event: Record<string, unknown> }[]> {
  const entries = await redis.xrange(key, '-', '+');
  return entries.map(([id, fields]) => {
    expect(fields[0]).toBe(STREAM_FIELD);
    return { id, event: JSON.parse(fields[1] ?? 'null') as Record<string, unknown> };
  });
}

function newBus(key: string, format: 'json' | 'ocsf' = 'json') {
  return new EventBus({
    sinks: [redisStreamSink({ client: redis, stream: key, retentionMs: HOUR, format })],
    retry: { baseMs: 10, maxMs: 50 },
    // Checkpoints by count and on flush only, so entry counts do not depend on timing.
    checkpoint: { maxDelayMs: 60_000 },
  });
}

describe('Redis Stream sink', () => {
  it('lands every event in the stream in seq order, as a chain that verifies', async (ctx) => {
    if (!available) return ctx.skip();
    const key = `${prefix}:order`;
    const events = newBus(key);
    await events.start();
    const pending: Promise<void>[] = [];
    for (let n = 0; n < 250; n += 1) {
      const input = { ...revoked, lease_id: `lse_${n}` };
      pending.push(events.emit(input, { failClosed: n % 50 === 0 }));
    }
    await Promise.all(pending);
    await events.flush();
    const entries = await readStream(key);
    const chain = entries.map((entry) => entry.event as unknown as BrokerEvent);
    // Genesis, 250 events, checkpoints after every 100 (seq 101, 202) and on flush (253).
    expect(chain.map((event) => event.seq)).toEqual(Array.from({ length: 254 }, (_, seq) => seq));
    expect(
      chain.filter((event) => event.type === 'chain.checkpoint').map((event) => event.seq),
    ).toEqual([101, 202, 253]);
    expect(verifyChain(chain, events.publicKeyJwk)).toEqual({ ok: true });
    expect(events.stats().sinks.redis_stream).toMatchObject({ written: 254, failed: 0 });
    await events.close();
  });

  it('trims entries older than the retention window by age (MINID)', async (ctx) => {
    if (!available) return ctx.skip();
    const key = `${prefix}:trim`;
    // Approximate trimming drops whole macro-nodes only; entries bigger than a node's byte
    // limit each get a node of their own, so every old one is eligible.
    const [, nodeBytes] = (await redis.config('GET', 'stream-node-max-bytes')) as [string, string];
    const filler = 'x'.repeat(Math.max(Number(nodeBytes), 4096) + 1);
    const now = Date.now();
    const oldIds = [1, 2, 3, 4, 5].map((n) => `${now - 48 * HOUR + n}-0`);
    for (const id of oldIds) await redis.xadd(key, id, 'filler', filler);
    const recentId = `${now - HOUR / 2}-0`;
    await redis.xadd(key, recentId, 'filler', filler);

    const events = newBus(key);
    await events.start();
    await events.emit(revoked, { failClosed: true });

    const ids = (await redis.xrange(key, '-', '+')).map(([id]) => id);
    for (const id of oldIds) expect(ids).not.toContain(id);
    expect(ids).toContain(recentId);
    expect(ids).toHaveLength(3);
    await events.close();
  });

  it('writes OCSF entries when configured so', async (ctx) => {
    if (!available) return ctx.skip();
    const key = `${prefix}:ocsf`;
    const events = newBus(key, 'ocsf');
    await events.start();
    await events.emit({ ...revoked, lease_id: 'lse_9' }, { failClosed: true });
    const entries = await readStream(key);
    expect(entries.map((entry) => entry.event.type_uid)).toEqual([600399, 600304]);
    expect(entries[1]?.event).toMatchObject({ unmapped: { seq: 1, lease_id: 'lse_9' } });
    await events.close();
  });

  it('reports a consumer group backlog for the lag metric', async (ctx) => {
    if (!available) return ctx.skip();
    const key = `${prefix}:lag`;
    expect(await streamLag(redis, key, 'siem')).toBeNull();
    const events = newBus(key);
    await events.start();
    for (let n = 0; n < 10; n += 1) await events.emit(revoked, { failClosed: true });
    await redis.xgroup('CREATE', key, 'siem', '0');
    await redis.xreadgroup('GROUP', 'siem', 'reader', 'COUNT', 4, 'STREAMS', key, '>');
    const lag = await streamLag(redis, key, 'siem');
    expect(lag?.pending).toBe(4);
    // Redis reports `lag` from 7.0 on; older servers leave it out.
    if (lag?.lag !== null) expect(lag?.lag).toBe(7);
    expect(await streamLag(redis, key, 'nobody')).toBeNull();
    await events.close();
  });

  it('fails issuance closed when Redis cannot be reached, and never blocks revocation', async (ctx) => {
    if (!available) return ctx.skip();
    const unreachable = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    const errors: string[] = [];
    const events = new EventBus({
      sinks: [
        redisStreamSink({ client: unreachable, stream: `${prefix}:down`, retentionMs: HOUR }),
      ],
      onError: (sink) => errors.push(sink),
      retry: { baseMs: 10, maxMs: 50 },
      writeTimeoutMs: 1_000,
    });
    const err = await events.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).code).toBe('audit_unavailable');
    await expect(events.emit(revoked, { failClosed: false })).resolves.toBeUndefined();
    expect(errors).toContain('redis_stream');
    expect(events.stats().sinks.redis_stream?.queued).toBe(2);
    await events.close();
    unreachable.disconnect();
  });

  it('is built from events.redis_stream on the lease store, its backlog reported as metrics', async (ctx) => {
    if (!available) return ctx.skip();
    const metrics = new Metrics();
    const sinks = createSinks(
      { stdout: { enabled: false }, redis_stream: { stream: 'registry', retention: '1h' } },
      { redis, keyPrefix: prefix, metrics },
    );
    expect(sinks.map((s) => [s.name, s.mode])).toEqual([['redis-stream', 'required']]);
    const events = new EventBus({ sinks });
    await events.start();
    await events.emit(revoked, { failClosed: true });
    const key = `${prefix}:registry`;
    expect((await readStream(key)).map((entry) => entry.event.type)).toEqual([
      'chain.genesis',
      'lease.revoked',
    ]);
    await redis.xgroup('CREATE', key, 'siem', '0');
    expect(await metrics.metrics()).toMatch(/jit_event_stream_pending\{group="siem"\} 0/);
    await events.close();
  });
});
