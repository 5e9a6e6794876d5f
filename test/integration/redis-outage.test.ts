import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/lib/logger.js';
import { startBroker } from '../../src/server.js';
import { Capture, type Harness, sleep, startHarness } from '../helpers/broker-harness.js';
import { freePort } from '../helpers/free-port.js';
import { settlesBefore } from '../helpers/race.js';
import { type RedisProc, startOrSkip, startRedis } from '../helpers/redis-procs.js';
import { uniquePrefix } from '../helpers/services.js';

/**
 * A dedicated `redis-server` that the test stops and starts mid-run: issuance fails closed
 * while it is gone, and the broker and its reaper resume on their own when it is back.
 */
const REQUEST = {
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: 'task-outage', intent: 'triage' },
};

interface Issued {
  lease_id: string;
  credential: { token: string };
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('Redis outage: fail closed, then resume without a restart', () => {
  let redis: RedisProc | null = null;
  let h: Harness | undefined;
  let agent: string;
  let agentB: string;

  beforeAll(async () => {
    redis = await startOrSkip('redis-server (AOF, for the outage test)', () =>
      startRedis({ appendonly: true }),
    );
    if (!redis) return;
    const url = redis.url;
    h = await startHarness({
      store: 'redis',
      configure(raw) {
        raw.redis = { ...(raw.redis as object), url };
      },
    });
    agent = await h.workloadToken('spiffe://test/agent-a');
    agentB = await h.workloadToken('spiffe://test/agent-b');
  });

  afterAll(async () => {
    if (redis && !redis.running) await redis.start().catch(() => {});
    await h?.close();
    await redis?.destroy();
  });

  it('503 with Retry-After while Redis is down; resumes and reaps what fell due', async (ctx) => {
    if (!h || !redis) return ctx.skip();
    const hh = h;
    const issue = () =>
      hh.request('/v1/credentials', { method: 'POST', token: agent, json: REQUEST });

    const before = await issue();
    expect(before.status).toBe(201);
    const longLived = (await before.json()) as Issued;
    // Fall due while Redis is down: the reaper must still revoke them afterwards.
    const shortLived = async (token: string) => {
      const res = await hh.request('/v1/credentials', {
        method: 'POST',
        token,
        json: { ...REQUEST, ttl: 1, task: { id: 'task-short', intent: 'triage' } },
      });
      expect(res.status).toBe(201);
      return (await res.json()) as Issued;
    };
    const short = await shortLived(agent);
    const shortB = await shortLived(agentB);
    expect((await hh.request('/readyz')).status).toBe(200);
    // agent-b's due hint is gone, as when a reaper took it and Redis vanished before that
    // reaper could claim the lease: the hint must be rebuilt when Redis returns.
    const inspect = redis.client();
    expect(await inspect.zrem(`${hh.config.redis.key_prefix}:due-hint`, 'agent-b')).toBe(1);
    inspect.disconnect();

    await redis.stop();
    const outageStarted = Date.now();

    // Refused at once, not queued until Redis returns (which would hang the request).
    const refusing = issue();
    expect(await settlesBefore(refusing, 10_000)).toBe(true);
    const refused = await refusing;
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const problem = (await refused.json()) as { code: string };
    expect(['store_unavailable', 'audit_unavailable']).toContain(problem.code);

    const notReady = await hh.request('/readyz');
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'not_ready' });
    const detail = await hh.request('/v1/readiness', { token: await hh.operatorToken(['viewer']) });
    expect(detail.status).toBe(503);
    expect(await detail.json()).toMatchObject({
      status: 'not_ready',
      checks: { lease_store: { ok: false } },
    });

    // Outlive the short lease's expiry while Redis is gone.
    await sleep(Math.max(0, 1_500 - (Date.now() - outageStarted)));
    const stillRefused = await issue();
    expect(stillRefused.status).toBe(503);

    await redis.start();
    await waitFor(
      'readiness after the restart',
      async () => (await hh.request('/readyz')).status === 200,
      10_000,
    );
    let resumed = await issue();
    for (let i = 0; i < 30 && resumed.status !== 201; i += 1) {
      await sleep(100);
      resumed = await issue();
    }
    expect(resumed.status).toBe(201);

    const state = async (id: string, token = agent) => {
      const res = await hh.request(`/v1/leases/${id}`, { token });
      expect(res.status).toBe(200);
      return ((await res.json()) as { state: string }).state;
    };
    await waitFor(
      'the reaper to expire the leases that fell due during the outage',
      async () =>
        (await state(short.lease_id)) === 'expired' &&
        (await state(shortB.lease_id, agentB)) === 'expired',
      10_000,
    );
    const events = await hh.flushedEvents();
    for (const id of [short.lease_id, shortB.lease_id]) {
      expect(events.some((e) => e.type === 'lease.expired' && e.lease_id === id)).toBe(true);
    }
    // Leases issued before the outage survived it (AOF) and are still live.
    expect(await state(longLived.lease_id)).toBe('active');
  });
});

describe('startBroker and Redis persistence', () => {
  const procs: RedisProc[] = [];

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.destroy()));
  });

  function config(url: string) {
    return configSchema.parse({
      server: { host: '127.0.0.1', port: 0 },
      redis: { url, key_prefix: uniquePrefix('aof') },
      events: { stdout: { enabled: false } },
      encryption: { keys: [{ id: 'k1', key: Buffer.alloc(32, 7).toString('base64') }] },
    });
  }

  async function start(url: string, requireAof: boolean, logs = new Capture()) {
    return startBroker({
      config: config(url),
      store: 'redis',
      logger: createLogger({ level: 'debug', destination: logs }),
      listen: false,
      reaper: false,
      requireAof,
    });
  }

  it('refuses to start without AOF when told to require it, and warns otherwise', async (ctx) => {
    const redis = await startOrSkip('redis-server (appendonly no)', () => startRedis());
    if (!redis) return ctx.skip();
    procs.push(redis);
    await expect(start(redis.url, true)).rejects.toThrow(/append-only file/);
    const logs = new Capture();
    const broker = await start(redis.url, false, logs);
    await broker.close();
    expect(logs.text).toMatch(/no append-only file/);
  });

  it('starts with AOF required when Redis keeps one', async (ctx) => {
    const redis = await startOrSkip('redis-server (appendonly yes)', () =>
      startRedis({ appendonly: true }),
    );
    if (!redis) return ctx.skip();
    procs.push(redis);
    const logs = new Capture();
    const broker = await start(redis.url, true, logs);
    try {
      await broker.store.ping();
      expect(logs.text).not.toMatch(/no append-only file/);
    } finally {
      await broker.close();
    }
  });

  it('rejects with a clear message when Redis is unreachable', async () => {
    const port = await freePort();
    const failure = start(`redis://127.0.0.1:${port}`, false);
    await expect(failure).rejects.toThrow(
      new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${port}`),
    );
    // The message says why, not only that it timed out.
    await expect(failure).rejects.toThrow(/ECONNREFUSED/);
  }, 20_000);
});
