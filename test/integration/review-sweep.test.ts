import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import type { BrokerRuntime } from '../../src/broker/deps.js';
import type { WorkloadConfig } from '../../src/config/schema.js';
import { configSchema } from '../../src/config/schema.js';
import type { BrokerEvent } from '../../src/events/types.js';
import { createLogger } from '../../src/lib/logger.js';
import { startBroker } from '../../src/server.js';
import { reviewSweepTimer } from '../../src/wiring/review-notices.js';
import { reviewDeadline } from '../../src/workloads/review-date.js';
import { reviewGate } from '../../src/workloads/review-gate.js';
import { RedisReviewNotices, type ReviewNotices } from '../../src/workloads/review-notices.js';
import { sweepReviews } from '../../src/workloads/review-sweep.js';
import { Capture, sleep } from '../helpers/broker-harness.js';
import { suiteRedis } from '../helpers/suite-redis.js';

const DAY = 86_400_000;
const WARNING = 14 * DAY;
const REVIEW_BY = '2027-03-10';
/** 08:00 UTC, five days before the review day ends: within the 14-day lead time. */
const DUE_DAY = Date.parse('2027-03-06T08:00:00Z');

const workload = (id: string, extra: Partial<WorkloadConfig> = {}): WorkloadConfig =>
  ({
    id,
    issuer: 'test',
    subject: id,
    tier: 'read',
    max_active_leases: 10,
    ...extra,
  }) as WorkloadConfig;

/** What the sweep and the gate read of a replica, with a runtime a test can swap (a reload). */
function replica(notices: ReviewNotices, workloads: WorkloadConfig[], emitted: BrokerEvent[]) {
  const warnings: unknown[] = [];
  let runtime = {
    workloads: new Map(workloads.map((w) => [w.id, w])),
    reviewWarningMs: WARNING,
  } as unknown as BrokerRuntime;
  return {
    deps: {
      events: {
        emit: async (e: object) => {
          emitted.push(e as BrokerEvent);
        },
      },
      logger: { warn: (o: unknown) => warnings.push(o), error: () => undefined },
      runtime: () => runtime,
      reviewNotices: notices,
    } as never,
    notices,
    warnings,
    reload(next: WorkloadConfig[]) {
      runtime = { ...runtime, workloads: new Map(next.map((w) => [w.id, w])) } as BrokerRuntime;
    },
  };
}

const dueEvents = (emitted: BrokerEvent[], id: string) =>
  emitted.filter((e) => e.type === 'workload.review_due' && e.workload === id);

describe('review sweep: idle workloads are warned, once a day across replicas (Redis)', () => {
  const suite = suiteRedis('review-sweep');

  /** Two replicas sharing this suite's Redis under a prefix of the test's own. */
  function replicas(ctx: { skip: () => void }, label: string, workloads: WorkloadConfig[]) {
    const redis = suite.client(ctx);
    const emitted: BrokerEvent[] = [];
    const prefix = `${suite.prefix}:${label}`;
    const make = () => replica(new RedisReviewNotices(redis, prefix), workloads, emitted);
    return { emitted, a: make(), b: make() };
  }

  it('a due workload that makes no request gets one warning a day over two sweeps and two replicas', async (ctx) => {
    const w = workload('idle-due', { review_by: REVIEW_BY, owner: 'team@example.com' });
    const { emitted, a, b } = replicas(ctx, 'idle', [w]);
    const results = await Promise.all([
      sweepReviews(a.deps, a.notices, DUE_DAY),
      sweepReviews(b.deps, b.notices, DUE_DAY + 1),
      sweepReviews(a.deps, a.notices, DUE_DAY + 3_600_000),
      sweepReviews(b.deps, b.notices, DUE_DAY + 7_200_000),
    ]);
    expect(results.flatMap((r) => r.warned)).toEqual(['idle-due']);
    const [warning] = dueEvents(emitted, 'idle-due');
    expect(dueEvents(emitted, 'idle-due')).toHaveLength(1);
    expect(warning).toMatchObject({
      outcome: 'success',
      reason: 'review_due',
      detail: { review_by: REVIEW_BY, owner: 'team@example.com' },
    });
    expect(warning?.detail).not.toHaveProperty('overdue');
    // The next UTC day, the next sweep warns again.
    await sweepReviews(b.deps, b.notices, DUE_DAY + DAY);
    await sweepReviews(a.deps, a.notices, DUE_DAY + DAY + 1);
    expect(dueEvents(emitted, 'idle-due')).toHaveLength(2);
  });

  it('a request on the day of a sweep adds no warning, and a sweep after a request adds none', async (ctx) => {
    const w = workload('busy-due', { review_by: REVIEW_BY });
    const { emitted, a, b } = replicas(ctx, 'busy', [w]);
    await sweepReviews(a.deps, a.notices, DUE_DAY);
    expect(await reviewGate(b.deps, w, { workload: w.id }, DUE_DAY + 60_000)).toBeUndefined();
    expect(dueEvents(emitted, 'busy-due')).toHaveLength(1);
    // Next day, the request comes first and the sweeps stay silent.
    await reviewGate(a.deps, w, { workload: w.id }, DUE_DAY + DAY);
    await sweepReviews(a.deps, a.notices, DUE_DAY + DAY + 1);
    await sweepReviews(b.deps, b.notices, DUE_DAY + DAY + 2);
    expect(dueEvents(emitted, 'busy-due')).toHaveLength(2);
  });

  it('an overdue workload gets its daily notice, marked overdue with severity high', async (ctx) => {
    const w = workload('late', { review_by: REVIEW_BY });
    const { emitted, a, b } = replicas(ctx, 'late', [w]);
    const after = reviewDeadline(REVIEW_BY) + 3 * DAY;
    await sweepReviews(a.deps, a.notices, after);
    await sweepReviews(b.deps, b.notices, after + 1);
    const notices = dueEvents(emitted, 'late');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({
      severity: 'high',
      reason: 'review_overdue',
      detail: { review_by: REVIEW_BY, overdue: true, deadline: '2027-03-11T00:00:00.000Z' },
    });
    // A refused request that day adds nothing; the next day brings the next notice.
    const refused = await reviewGate(a.deps, w, { workload: w.id }, after + 2);
    expect(refused?.code).toBe('workload_review_overdue');
    expect(dueEvents(emitted, 'late')).toHaveLength(1);
    await sweepReviews(b.deps, b.notices, after + DAY);
    expect(dueEvents(emitted, 'late')).toHaveLength(2);
  });

  it('a workload without review_by, or before its lead time, gets none', async (ctx) => {
    const early = workload('early', { review_by: '2027-04-30' });
    const { emitted, a, b } = replicas(ctx, 'none', [workload('undated'), early]);
    for (const r of [a, b]) {
      const result = await sweepReviews(r.deps, r.notices, DUE_DAY);
      expect(result).toEqual({ warned: [], failed: [] });
    }
    expect(emitted).toEqual([]);
    // The same workload is warned once inside the lead time: the sweep does look at it.
    await sweepReviews(a.deps, a.notices, reviewDeadline('2027-04-30') - WARNING);
    expect(dueEvents(emitted, 'early')).toHaveLength(1);
  });

  it('a reload that removes review_by stops the notices', async (ctx) => {
    const w = workload('reviewed', { review_by: REVIEW_BY });
    const { emitted, a, b } = replicas(ctx, 'reload', [w]);
    await sweepReviews(a.deps, a.notices, DUE_DAY);
    expect(dueEvents(emitted, 'reviewed')).toHaveLength(1);
    const { review_by: _gone, ...reviewed } = w;
    a.reload([reviewed as WorkloadConfig]);
    b.reload([reviewed as WorkloadConfig]);
    for (const offset of [DAY, 2 * DAY, 10 * DAY]) {
      await sweepReviews(a.deps, a.notices, DUE_DAY + offset);
      await sweepReviews(b.deps, b.notices, DUE_DAY + offset);
    }
    expect(dueEvents(emitted, 'reviewed')).toHaveLength(1);
  });

  it('a marker that cannot be kept is logged and retried by the next sweep, never thrown', async (ctx) => {
    const redis = suite.client(ctx);
    const emitted: BrokerEvent[] = [];
    const w = workload('flaky', { review_by: REVIEW_BY });
    const real = new RedisReviewNotices(redis, `${suite.prefix}:flaky`);
    let down = true;
    const flaky: ReviewNotices = {
      firstOfDay: async (id, day) => {
        if (down) throw new Error('connection lost');
        return real.firstOfDay(id, day);
      },
    };
    const r = replica(flaky, [w], emitted);
    expect(await sweepReviews(r.deps, flaky, DUE_DAY)).toEqual({ warned: [], failed: ['flaky'] });
    expect(r.warnings).toEqual([{ workload: 'flaky', err: 'connection lost' }]);
    expect(emitted).toEqual([]);
    down = false;
    expect(await sweepReviews(r.deps, flaky, DUE_DAY + 3_600_000)).toEqual({
      warned: ['flaky'],
      failed: [],
    });
    expect(dueEvents(emitted, 'flaky')).toHaveLength(1);
  });
});

describe('review sweep timer', () => {
  it('a sweep that throws resolves, logged, and the next one runs', async () => {
    const warnings: unknown[] = [];
    let broken = true;
    const emitted: BrokerEvent[] = [];
    const r = replica(
      { firstOfDay: async () => true },
      [workload('t', { review_by: REVIEW_BY })],
      emitted,
    );
    const deps = r.deps as { runtime: () => BrokerRuntime };
    const timer = reviewSweepTimer({
      deps: {
        ...(r.deps as object),
        logger: { warn: (o: unknown) => warnings.push(o) },
        runtime: () => {
          if (broken) throw new Error('no runtime');
          return deps.runtime();
        },
      } as never,
      notices: r.notices,
      now: () => DUE_DAY,
    });
    await expect(timer.sweep()).resolves.toBeUndefined();
    expect(warnings).toEqual([{ err: 'no runtime' }]);
    broken = false;
    await expect(timer.sweep()).resolves.toEqual({ warned: ['t'], failed: [] });
    await timer.stop();
  });
});

describe('the server starts the review sweep', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jit-review-sweep-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('warns an idle workload with no request, and stops at close', async () => {
    const keys = await generateKeyPair('ES256');
    writeFileSync(
      join(dir, 'jwks.json'),
      JSON.stringify({ keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'r1', alg: 'ES256' }] }),
    );
    const tomorrow = new Date(Date.now() + DAY).toISOString().slice(0, 10);
    const config = configSchema.parse({
      issuers: [
        {
          name: 'test',
          issuer: 'https://issuer.review.test',
          audience: 'jit-broker',
          jwks_file: join(dir, 'jwks.json'),
          algorithms: ['ES256'],
        },
      ],
      workloads: [
        { id: 'idle-agent', issuer: 'test', subject: 'idle', tier: 'read', review_by: tomorrow },
      ],
      targets: [],
      policies: [],
      events: { stdout: { enabled: true }, redis_stream: { enabled: false } },
      encryption: { keys: [{ id: 'k1', key: Buffer.alloc(32, 7).toString('base64') }] },
    });
    const events = new Capture();
    const broker = await startBroker({
      config,
      store: 'memory',
      logger: createLogger({ level: 'error', destination: new Capture() }),
      eventsOut: events,
      listen: false,
      reviewSweepFirstMs: 0,
    });
    try {
      // No request is made: the timer alone emits it (bounded by the test's timeout).
      while (dueEvents(events.events, 'idle-agent').length === 0) {
        await broker.events.flush();
        await sleep(10);
      }
      expect(dueEvents(events.events, 'idle-agent')[0]?.detail).toMatchObject({
        review_by: tomorrow,
      });
    } finally {
      await broker.close();
    }
  });
});
