import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryLeaseStore } from '../../src/leases/memory-store.js';
import { RedisLeaseStore } from '../../src/leases/redis-store.js';
import type { LeaseStore, NewLease, StoreSettings } from '../../src/leases/types.js';
import { leaseStoreReader } from '../../src/metrics/scrape-readers.js';
import { Metrics } from '../../src/metrics.js';
import { type Harness, sleep, startHarness } from '../helpers/broker-harness.js';
import { parseScrape } from '../helpers/prometheus-scrape.js';
import { type RedisProc, startOrSkip, startRedis } from '../helpers/redis-procs.js';
import {
  deletePrefix,
  REDIS_URL,
  redisAvailable,
  requireService,
  uniquePrefix,
} from '../helpers/services.js';

const SETTINGS: StoreSettings = {
  retentionMs: 3_600_000,
  pendingTimeoutMs: 60_000,
  claimTimeoutMs: 5_000,
  maxAttempts: 3,
  failedRetryMs: 1_000,
};

const lease = (workload: string, target: string): NewLease => ({
  workload,
  subject: `spiffe://test/${workload}`,
  issuer: 'test',
  target,
  provider: 'jwt',
  scope: {},
  task: { id: 't', intent: 'triage' },
  policy: 'p',
  policyHash: 'a'.repeat(64),
  ttlMs: 600_000,
  maxTtlMs: 600_000,
  maxLive: 100,
});

/** 7 active leases on two targets of three workloads, then 5 of them revoked. */
async function fill(store: LeaseStore): Promise<void> {
  const ids: string[] = [];
  for (let i = 0; i < 12; i += 1) {
    const created = await store.create(lease(`w${i % 3}`, i % 2 === 0 ? 'even' : 'odd'));
    await store.activate(created, 'sealed');
    ids.push(created.id);
  }
  const claims = (await store.requestRevoke(ids.slice(0, 5), 'operator')).flatMap((r) =>
    r.status === 'claimed' ? [r.claim] : [],
  );
  expect(claims).toHaveLength(5);
  await store.finishMany(claims.map((claim) => ({ claim, outcome: { ok: true } })));
}

describe.each(['memory', 'redis'] as const)('the %s store census', (kind) => {
  let store: LeaseStore | undefined;
  const prefix = uniquePrefix('census');

  beforeAll(async () => {
    if (kind === 'redis') {
      if (!(await requireService('redis', await redisAvailable()))) return;
      store = new RedisLeaseStore(new Redis(REDIS_URL), prefix, SETTINGS);
    } else {
      store = new MemoryLeaseStore(SETTINGS);
    }
    await fill(store);
  });
  afterAll(async () => {
    if (kind === 'redis' && store) {
      const redis = new Redis(REDIS_URL);
      await deletePrefix(redis, `${prefix}:`);
      redis.disconnect();
    }
    await store?.close();
  });

  it('counts every lease by target, provider and state when within the bound', async (ctx) => {
    if (!store) return ctx.skip();
    const census = await store.census(100);
    expect(census.truncated).toBe(false);
    const count = (state: string, target?: string) =>
      census.counts
        .filter((c) => c.state === state && (target === undefined || c.target === target))
        .reduce((n, c) => n + c.leases, 0);
    expect(count('active')).toBe(7);
    expect(count('revoked')).toBe(5);
    expect(count('active', 'even') + count('active', 'odd')).toBe(7);
    expect(census.counts.every((c) => c.provider === 'jwt')).toBe(true);
  });

  it('reads no more than the bound, unfinished leases first, and says it stopped short', async (ctx) => {
    if (!store) return ctx.skip();
    const census = await store.census(7);
    expect(census.truncated).toBe(true);
    expect(census.counts.reduce((n, c) => n + c.leases, 0)).toBe(7);
    expect(census.counts.every((c) => c.state === 'active')).toBe(true);
    // Exactly at the bound is not truncated; one short is.
    expect((await store.census(12)).truncated).toBe(false);
    expect((await store.census(11)).truncated).toBe(true);
    const fewer = await store.census(3);
    expect(fewer.truncated).toBe(true);
    expect(fewer.counts.reduce((n, c) => n + c.leases, 0)).toBe(3);
  });

  it('the scrape reader reuses a read until it is stale or invalidated, and marks truncation', async (ctx) => {
    if (!store) return ctx.skip();
    const metrics = new Metrics({ version: 'test' });
    let clock = 0;
    const reader = leaseStoreReader(metrics, store, {
      limit: 100,
      maxAgeMs: 5_000,
      now: () => clock,
    });
    metrics.watch(reader);
    const active = async () =>
      parseScrape(await metrics.metrics()).value('jit_leases_active', { target: 'even' });
    const first = await active();
    const extra = await store.create(lease('w0', 'even'));
    await store.activate(extra, 'sealed');
    clock = 4_999;
    expect(await active()).toBe(first);
    reader.invalidate();
    expect(await active()).toBe(first + 1);
    const more = await store.create(lease('w1', 'even'));
    await store.activate(more, 'sealed');
    clock = 10_000;
    expect(await active()).toBe(first + 2);
    expect(parseScrape(await metrics.metrics()).value('jit_lease_census_truncated')).toBe(0);

    // Scrapes at the same moment share one read of the store.
    let reads = 0;
    const counted: Pick<LeaseStore, 'census' | 'isFrozen' | 'workloads'> = {
      census: (n) => {
        reads += 1;
        return store?.census(n) ?? Promise.reject(new Error('no store'));
      },
      isFrozen: () => store?.isFrozen() ?? Promise.resolve(null),
      workloads: () => store?.workloads() ?? Promise.resolve([]),
    };
    const shared = new Metrics({ version: 'test' });
    shared.watch(leaseStoreReader(shared, counted, { maxAgeMs: 0 }));
    await Promise.all([shared.metrics(), shared.metrics(), shared.metrics()]);
    expect(reads).toBe(1);
    await shared.metrics();
    expect(reads).toBe(2);
    shared.close();

    const bounded = new Metrics({ version: 'test' });
    bounded.watch(leaseStoreReader(bounded, store, { limit: 2 }));
    const s = parseScrape(await bounded.metrics());
    expect(s.value('jit_lease_census_truncated')).toBe(1);
    expect(s.value('jit_leases')).toBe(2);
    metrics.close();
    bounded.close();
  });
});

describe('Redis errors while Redis is down', () => {
  let redis: RedisProc | null = null;
  let h: Harness | undefined;

  beforeAll(async () => {
    redis = await startOrSkip('redis-server (for the Redis error metrics)', () => startRedis());
    if (!redis) return;
    const url = redis.url;
    h = await startHarness({
      store: 'redis',
      reaper: false,
      configure(raw) {
        raw.redis = { ...(raw.redis as object), url };
        raw.events = { stdout: { enabled: true } };
      },
    });
  });
  afterAll(async () => {
    if (redis && !redis.running) await redis.start().catch(() => {});
    await h?.close();
    await redis?.destroy();
  });

  it('counts failed store operations and connection errors; refusals the store means are not errors', async (ctx) => {
    if (!h || !redis) return ctx.skip();
    const agent = await h.workloadToken('spiffe://test/agent-a');
    const body = {
      target: 'tickets',
      scope: { scopes: ['tickets:read'] },
      task: { id: 'redis-errors', intent: 'triage' },
    };
    const kill = await h.request('/v1/workloads/agent-a/revoke', {
      method: 'POST',
      token: h.breakGlass.token,
      json: { reason: 'metrics drill', block: true },
    });
    expect(kill.status).toBe(200);
    const blocked = await h.request('/v1/credentials', {
      method: 'POST',
      token: agent,
      json: body,
    });
    expect(blocked.status).toBe(403);
    const up = parseScrape(await (await h.request('/metrics')).text());
    expect(up.value('jit_redis_command_errors_total')).toBe(0);

    await redis.stop();
    const refused = await h.request('/v1/credentials', {
      method: 'POST',
      token: agent,
      json: body,
    });
    expect(refused.status).toBe(503);
    const down = parseScrape(await (await h.request('/metrics')).text());
    expect(down.value('jit_redis_command_errors_total')).toBeGreaterThan(0);
    // The client reports each failed reconnect as it happens: wait for the first one.
    let reconnects = 0;
    for (let i = 0; i < 100 && reconnects === 0; i += 1) {
      await sleep(50);
      reconnects = parseScrape(await (await h.request('/metrics')).text()).value(
        'jit_redis_connection_errors_total',
      );
    }
    expect(reconnects).toBeGreaterThan(0);
    // A read of the store that fails leaves the store gauges unknown, not zero.
    const fresh = new Metrics({ version: 'test' });
    fresh.watch(leaseStoreReader(fresh, h.broker.store, { maxAgeMs: 0 }));
    const unread = parseScrape(await fresh.metrics());
    fresh.close();
    expect(unread.value('jit_issuance_frozen')).toBeNaN();
    expect(unread.value('jit_workloads_blocked')).toBeNaN();
    expect(unread.has('jit_leases')).toBe(false);
    expect(unread.has('jit_leases_active')).toBe(false);
    const operations = new Set(
      down.samples
        .filter((s) => s.name === 'jit_redis_command_errors_total')
        .map((s) => s.labels.operation),
    );
    for (const operation of operations) {
      expect([
        'isBlocked',
        'isFrozen',
        'create',
        'now',
        'census',
        'workloads',
        'get',
        'list',
      ]).toContain(operation);
    }
    await redis.start();
  });
});
