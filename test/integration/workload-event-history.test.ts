import { beforeAll, describe, expect, it } from 'vitest';
import { toOcsf } from '../../src/events/ocsf.js';
import { STREAM_FIELD } from '../../src/events/sinks/redis-stream/index.js';
import type { BrokerEvent } from '../../src/events/types.js';
import { RedisStreamHistory, streamHistory } from '../../src/workloads/event-history.js';
import { suiteRedis } from '../helpers/suite-redis.js';

const event = (seq: number, workload: string): BrokerEvent => ({
  id: `evt-${seq}`,
  time: new Date(Date.parse('2027-03-01T00:00:00Z') + seq * 1000).toISOString(),
  severity: 'low',
  instance: 'i1',
  seq,
  prev: '0'.repeat(64),
  type: 'credential.denied',
  outcome: 'denied',
  workload,
  reason: 'policy_denied',
});

describe('the event stream read back for reports', () => {
  const suite = suiteRedis('history');
  const stream = `${suite.prefix}:events`;
  const base = Date.parse('2027-03-01T00:00:00Z');

  beforeAll(async () => {
    const redis = suite.connection;
    if (redis === undefined) return;
    // Ten entries one second apart (ids are their write time); the last two in OCSF.
    for (let i = 0; i < 10; i += 1) {
      const e = event(i, i % 2 === 0 ? 'bot' : 'other');
      const text = JSON.stringify(i >= 8 ? toOcsf(e) : e);
      await redis.xadd(stream, `${base + i * 1000}-0`, STREAM_FIELD, text);
    }
    await redis.xadd(stream, `${base + 10_000}-0`, STREAM_FIELD, 'not an event');
  });

  it('reads back to the window start, native and OCSF alike, skipping what is not an event', async (ctx) => {
    const redis = suite.client(ctx);
    const history = new RedisStreamHistory(redis, stream);
    const all = await history.since(base, 1_000, (e) => e.workload === 'bot');
    expect(all.truncated).toBe(false);
    expect(all.events.map((e) => e.seq)).toEqual([8, 6, 4, 2, 0]);
    const recent = await history.since(base + 5_000, 1_000, () => true);
    expect(recent.events.map((e) => e.seq)).toEqual([9, 8, 7, 6, 5]);
  });

  it('stops at its bound and says the read was cut', async (ctx) => {
    const redis = suite.client(ctx);
    const history = new RedisStreamHistory(redis, stream);
    const cut = await history.since(base, 4, () => true);
    expect(cut.truncated).toBe(true);
    // Newest first: the non-event entry, then seqs 9, 8, 7.
    expect(cut.events.map((e) => e.seq)).toEqual([9, 8, 7]);
    const exact = await history.since(base + 7_000, 4, () => true);
    expect(exact.truncated).toBe(false);
  });

  it('exists only for an enabled stream sink on Redis', (ctx) => {
    const redis = suite.client(ctx);
    expect(streamHistory(undefined, suite.prefix, {})).toBeUndefined();
    expect(streamHistory(redis, suite.prefix, { enabled: false })).toBeUndefined();
    expect(streamHistory(redis, suite.prefix, { stream: 'events' })).toBeInstanceOf(
      RedisStreamHistory,
    );
  });
});
