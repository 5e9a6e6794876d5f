import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AuthFailedEvent,
  AuthFailureAggregator,
  type AuthFailureAggregatorOptions,
} from '../../../src/events/auth-failures.js';
import { toOcsf } from '../../../src/events/ocsf.js';
import { cefMessage } from '../../../src/events/sinks/syslog/format/cef.js';
import type { BrokerEvent, EmitOptions, EventInput } from '../../../src/events/types.js';

const WINDOW = 60_000;
const T0 = Date.parse('2026-03-01T12:00:00.000Z');

function refusal(source: string | undefined, reason = 'malformed', n = 0): AuthFailedEvent {
  return {
    type: 'auth.failed',
    outcome: 'failure',
    reason,
    request_id: `req_${n}`,
    token_sha256: `hash-${n}`,
    ...(source === undefined ? {} : { source_ip: source }),
    detail: { method: 'POST', path: '/v1/credentials' },
  };
}

function aggregator(options: Partial<AuthFailureAggregatorOptions> = {}) {
  const emitted: { event: EventInput; options: EmitOptions | undefined }[] = [];
  let now = T0;
  const tally = new AuthFailureAggregator({
    events: {
      emit: async (event, emitOptions) => {
        emitted.push({ event, options: emitOptions });
      },
    },
    windowMs: WINDOW,
    now: () => now,
    ...options,
  });
  return {
    tally,
    emitted,
    events: () => emitted.map((entry) => entry.event),
    advance(ms: number) {
      now += ms;
    },
  };
}

/** What a SIEM sums: a summary's count, or 1 for a refusal with an event of its own. */
function refusalsIn(events: readonly EventInput[]): number {
  return events
    .filter((event) => event.type === 'auth.failed')
    .reduce(
      (sum, event) => sum + (typeof event.detail?.count === 'number' ? event.detail.count : 1),
      0,
    );
}

afterEach(() => {
  vi.useRealTimers();
});

describe('AuthFailureAggregator', () => {
  it('reports the first refusals of a source and reason, and counts the rest into one summary', async () => {
    const { tally, events, advance } = aggregator({ burst: 3 });
    for (let n = 0; n < 50; n += 1) {
      await tally.report(refusal('203.0.113.9', 'malformed', n));
      advance(10);
    }
    // The burst, as before: request id, token hash and path of each.
    expect(events()).toHaveLength(3);
    expect(events().map((event) => event.request_id)).toEqual(['req_0', 'req_1', 'req_2']);
    tally.flush();
    expect(events()).toHaveLength(4);
    expect(events()[3]).toEqual({
      type: 'auth.failed',
      outcome: 'failure',
      reason: 'malformed',
      source_ip: '203.0.113.9',
      detail: {
        count: 47,
        window_ms: WINDOW,
        first_at: new Date(T0 + 30).toISOString(),
        last_at: new Date(T0 + 490).toISOString(),
      },
    });
    expect(refusalsIn(events())).toBe(50);
  });

  it('keeps sources and reasons apart', async () => {
    const { tally, events } = aggregator({ burst: 1 });
    for (let n = 0; n < 4; n += 1) {
      await tally.report(refusal('203.0.113.9', 'malformed', n));
      await tally.report(refusal('203.0.113.9', 'expired', n));
      await tally.report(refusal('198.51.100.7', 'malformed', n));
    }
    expect(events()).toHaveLength(3);
    tally.flush();
    const summaries = events().filter((event) => event.detail?.count !== undefined);
    expect(
      summaries.map((event) => [event.source_ip, event.reason, event.detail?.count]).sort(),
    ).toEqual([
      ['198.51.100.7', 'malformed', 3],
      ['203.0.113.9', 'expired', 3],
      ['203.0.113.9', 'malformed', 3],
    ]);
    expect(refusalsIn(events())).toBe(12);
  });

  it('starts a new window after each flush: the next refusals are events of their own again', async () => {
    const { tally, events } = aggregator({ burst: 2 });
    for (let n = 0; n < 5; n += 1) await tally.report(refusal('203.0.113.9'));
    tally.flush();
    expect(events()).toHaveLength(3);
    for (let n = 0; n < 3; n += 1) await tally.report(refusal('203.0.113.9'));
    expect(events()).toHaveLength(5);
    tally.flush();
    expect(events().at(-1)?.detail?.count).toBe(1);
    expect(refusalsIn(events())).toBe(8);
    // A window without refusals emits nothing.
    tally.flush();
    expect(events()).toHaveLength(6);
  });

  it('ends each window on a timer that runs only while something is tracked', async () => {
    vi.useFakeTimers();
    const { tally, events } = aggregator({ burst: 1 });
    expect(vi.getTimerCount()).toBe(0);
    for (let n = 0; n < 4; n += 1) await tally.report(refusal('203.0.113.9'));
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(WINDOW);
    expect(events().map((event) => event.detail?.count)).toEqual([undefined, 3]);
    expect(tally.tracked).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('tracks at most maxSources pairs; further sources share one tally per reason, without an address', async () => {
    const { tally, events } = aggregator({ burst: 1, maxSources: 5 });
    for (let n = 0; n < 1_000; n += 1) {
      await tally.report(
        refusal(`10.0.${n >> 8}.${n & 255}`, n % 2 === 0 ? 'malformed' : 'expired'),
      );
    }
    // Five tracked pairs and one tally for each of the two reasons.
    expect(tally.tracked).toBe(7);
    expect(events()).toHaveLength(7);
    tally.flush();
    const untracked = events().filter((event) => event.detail?.untracked_sources === true);
    expect(untracked.map((event) => event.reason).sort()).toEqual(['expired', 'malformed']);
    for (const event of untracked) expect(event.source_ip).toBeUndefined();
    expect(refusalsIn(events())).toBe(1_000);
    expect(tally.tracked).toBe(0);
  });

  it('counts instead of emitting while the bus has no room, and keeps the count until it has', async () => {
    let room = false;
    const { tally, events } = aggregator({ burst: 5, hasRoom: () => room });
    for (let n = 0; n < 20; n += 1) await tally.report(refusal('203.0.113.9', 'malformed', n));
    expect(events()).toHaveLength(0);
    tally.flush();
    expect(events()).toHaveLength(0);
    expect(tally.tracked).toBe(1);
    room = true;
    tally.flush();
    expect(events()).toEqual([
      expect.objectContaining({ detail: expect.objectContaining({ count: 20 }) }),
    ]);
  });

  it('emits every pending summary on close, then passes refusals straight through', async () => {
    vi.useFakeTimers();
    const { tally, events, emitted } = aggregator({ burst: 1, hasRoom: () => false });
    for (let n = 0; n < 3; n += 1) await tally.report(refusal('203.0.113.9'));
    tally.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(events().map((event) => event.detail?.count)).toEqual([3]);
    await tally.report(refusal('203.0.113.9', 'malformed', 9));
    expect(events().at(-1)?.request_id).toBe('req_9');
    // Never fail-closed: an audit outage must not turn a 401 into a 503.
    expect(emitted.every((entry) => entry.options?.failClosed === false)).toBe(true);
  });

  it('reports a summary the emitter could not take', async () => {
    const failures: unknown[] = [];
    const tally = new AuthFailureAggregator({
      events: { emit: () => Promise.reject(new Error('wrapper broke')) },
      burst: 0,
      onError: (err) => failures.push(err),
    });
    await tally.report(refusal('203.0.113.9'));
    tally.flush();
    await vi.waitFor(() => expect(failures).toHaveLength(1));
  });

  it('refuses nonsense options', () => {
    const events = { emit: async () => {} };
    expect(() => new AuthFailureAggregator({ events, windowMs: 0 })).toThrow(TypeError);
    expect(() => new AuthFailureAggregator({ events, burst: -1 })).toThrow(TypeError);
    expect(() => new AuthFailureAggregator({ events, maxSources: 1.5 })).toThrow(TypeError);
  });
});

describe('an auth.failed summary in SIEM formats', () => {
  const summary: BrokerEvent = {
    type: 'auth.failed',
    outcome: 'failure',
    reason: 'malformed',
    source_ip: '203.0.113.9',
    detail: {
      count: 47,
      window_ms: WINDOW,
      first_at: new Date(T0).toISOString(),
      last_at: new Date(T0 + 5_000).toISOString(),
    },
    id: 'evt_1',
    time: new Date(T0 + WINDOW).toISOString(),
    severity: 'medium',
    instance: 'ins_1',
    seq: 7,
    prev: '0'.repeat(64),
  };

  it('OCSF: count, start_time and end_time; a single refusal has none', () => {
    expect(toOcsf(summary)).toMatchObject({
      class_uid: 3002,
      count: 47,
      start_time: T0,
      end_time: T0 + 5_000,
    });
    const single = toOcsf({ ...summary, detail: { method: 'POST', path: '/v1/credentials' } });
    expect(single.count).toBeUndefined();
    expect(single.start_time).toBeUndefined();
  });

  it('CEF: cnt', () => {
    expect(cefMessage(summary)).toMatch(/ cnt=47(?: |$)/);
    expect(cefMessage({ ...summary, detail: {} })).not.toMatch(/cnt=/);
  });
});
