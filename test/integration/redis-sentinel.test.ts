import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerConfig, configSchema } from '../../src/config/schema.js';
import { LeaseKeys } from '../../src/leases/keys.js';
import { createRedisClient, storeEndpoints, waitReady } from '../../src/leases/redis-client.js';
import { RedisLeaseStore } from '../../src/leases/redis-store.js';
import { createLogger } from '../../src/lib/logger.js';
import { startBroker } from '../../src/server.js';
import { Capture, type Harness, sleep, startHarness } from '../helpers/broker-harness.js';
import { CONFORMANCE_SETTINGS, describeLeaseStore } from '../helpers/lease-store-conformance.js';
import { type RedisProc, startOrSkip, startRedis } from '../helpers/redis-procs.js';
import { type SentinelGroup, startSentinelGroup } from '../helpers/redis-sentinel.js';
import { uniquePrefix } from '../helpers/services.js';

/**
 * A real Sentinel deployment (primary, replica, one sentinel with quorum 1) on loopback
 * ports: the lease store works through Sentinel, a broker survives a failover without a
 * restart, and a `redis` target may not point at a node the broker reaches only through
 * Sentinel.
 */
let started: Promise<SentinelGroup | null> | undefined;
const group = () => {
  started ??= startOrSkip('Redis Sentinel (redis-server --sentinel)', startSentinelGroup);
  return started;
};

afterAll(async () => {
  await (await started)?.destroy();
});

/**
 * Sentinel mode, parsed so the schema's defaults apply. The URL names the sentinel (in
 * sentinel mode it carries only credentials): neither data node appears anywhere in it.
 */
function sentinelConfig(g: SentinelGroup, prefix: string): BrokerConfig['redis'] {
  return configSchema.shape.redis.parse({
    url: `redis://${g.sentinel.host}:${g.sentinel.port}`,
    mode: 'sentinel',
    key_prefix: prefix,
    sentinel: { name: g.name, sentinels: [g.sentinel] },
  });
}

/** A broker (harness) whose lease store is the group's, through its sentinel. */
function sentinelHarness(
  g: SentinelGroup,
  adjust: (redis: BrokerConfig['redis']) => object = (redis) => redis,
): Promise<Harness> {
  return startHarness({
    store: 'redis',
    configure(raw) {
      const prefix = (raw.redis as { key_prefix: string }).key_prefix;
      raw.redis = adjust(sentinelConfig(g, prefix));
    },
  });
}

describeLeaseStore('redis (sentinel)', async () => {
  const g = await group();
  if (!g) return null;
  const prefix = uniquePrefix('lss');
  const client = createRedisClient(sentinelConfig(g, prefix));
  client.on('error', () => {});
  await waitReady(client, 10_000);
  // Connected to the primary the sentinel named, not to the configured URL.
  const info = await (client as Redis).info('server');
  expect(info).toContain(`tcp_port:${g.primary.port}\r\n`);
  return {
    store: new RedisLeaseStore(client, prefix, CONFORMANCE_SETTINGS),
    // The group is torn down whole in afterAll.
    cleanup: async () => {
      client.disconnect();
    },
  };
});

const ENCRYPTION = { keys: [{ id: 'k1', key: Buffer.alloc(32, 7).toString('base64') }] };

describe('a redis target on a node the broker reaches only through Sentinel', () => {
  let unrelated: RedisProc | null = null;

  afterAll(async () => {
    await unrelated?.destroy();
  });

  function target(port: number) {
    return {
      name: 'cache',
      provider: 'redis',
      nodes: [{ host: '127.0.0.1', port }],
      admin_username: 'jit-admin',
      admin_password: 'not-a-real-secret',
      connect: { host: '127.0.0.1', port },
    };
  }

  async function start(g: SentinelGroup, port: number) {
    return startBroker({
      config: configSchema.parse({
        server: { host: '127.0.0.1', port: 0 },
        redis: sentinelConfig(g, uniquePrefix('own')),
        targets: [target(port)],
        events: { stdout: { enabled: false }, redis_stream: { enabled: false } },
        encryption: ENCRYPTION,
      }),
      store: 'redis',
      logger: createLogger({ level: 'silent', destination: new Capture() }),
      listen: false,
      reaper: false,
    });
  }

  it('refuses the replica (and the primary) as the lease store, accepts an unrelated server', async (ctx) => {
    const g = await group();
    if (!g) return ctx.skip();
    // The replica is still a replica: only `SENTINEL replicas` can tell the broker about it.
    expect((await g.masterAddr()).port).toBe(g.primary.port);
    const config = JSON.stringify(sentinelConfig(g, 'x'));
    expect(config).not.toContain(String(g.replica.port));
    expect(config).not.toContain(String(g.primary.port));

    for (const port of [g.replica.port, g.primary.port]) {
      const outcome = await start(g, port).then(
        async (broker) => {
          await broker.close();
          return 'started';
        },
        (err: Error) => err.message,
      );
      expect(outcome).toMatch(/the broker's own lease store/);
      expect(outcome).toContain(`127.0.0.1:${port}`);
    }

    unrelated = await startRedis();
    const broker = await start(g, unrelated.port);
    try {
      expect(broker.runtime().providers.get('cache')?.kind).toBe('redis');
    } finally {
      await broker.close();
    }
  });
});

describe('lease-store servers from Sentinel', () => {
  it('fails closed when no sentinel can list them', async (ctx) => {
    const g = await group();
    if (!g) return ctx.skip();
    const config = sentinelConfig(g, uniquePrefix('ep'));
    const client = g.primary.client();
    try {
      const found = await storeEndpoints(client, config);
      expect(found).toEqual(
        expect.arrayContaining([
          { host: '127.0.0.1', port: g.primary.port },
          { host: '127.0.0.1', port: g.replica.port },
        ]),
      );
      await expect(
        storeEndpoints(client, {
          ...config,
          sentinel: { name: 'not-monitored', sentinels: [g.sentinel] },
        }),
      ).rejects.toThrow(/no sentinel could list the servers of "not-monitored"/);
    } finally {
      client.disconnect();
    }
  });
});

describe('require_aof under Sentinel', () => {
  it('checks the replicas a failover may promote, not only the primary', async (ctx) => {
    const g = await group();
    if (!g) return ctx.skip();
    const start = () => sentinelHarness(g, (redis) => ({ ...redis, require_aof: true }));
    const primary = g.primary.client();
    const replica = g.replica.client();
    try {
      await primary.config('SET', 'appendonly', 'yes');
      const refused = await start().then(
        async (h) => {
          await h.close();
          return 'started';
        },
        (err: Error) => err.message,
      );
      expect(refused).toMatch(/no append-only file/);
      expect(refused).toContain(`127.0.0.1:${g.replica.port}`);
      expect(refused).not.toContain(`127.0.0.1:${g.primary.port}`);

      await replica.config('SET', 'appendonly', 'yes');
      const h = await start();
      await h.close();
      expect(h.logs.text).not.toMatch(/no append-only file/);
    } finally {
      primary.disconnect();
      replica.disconnect();
    }
  });
});

const REQUEST = {
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: 'task-sentinel', intent: 'triage' },
};

interface Issued {
  lease_id: string;
  credential: { token: string };
}

describe('broker on Redis Sentinel: a failover without a restart', () => {
  let g: SentinelGroup | null = null;
  let h: Harness | undefined;
  let prefix: string;
  let agent: string;
  let api: string;

  beforeAll(async () => {
    g = await group();
    if (!g) return;
    h = await sentinelHarness(g);
    prefix = h.config.redis.key_prefix;
    agent = await h.workloadToken('spiffe://test/agent-a');
    api = await h.workloadToken('spiffe://test/tickets-api');
  });

  afterAll(async () => {
    await h?.close();
  });

  async function active(hh: Harness, token: string): Promise<boolean> {
    const res = await hh.request('/v1/introspect', {
      method: 'POST',
      token: api,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { active: boolean }).active;
  }

  const issue = (hh: Harness, task: string) =>
    hh.request('/v1/credentials', {
      method: 'POST',
      token: agent,
      json: { ...REQUEST, task: { id: task, intent: 'triage' } },
    });

  it('keeps its leases across the failover, issues again and revokes both', async (ctx) => {
    if (!g || !h) return ctx.skip();
    const hh = h;
    const group = g;
    expect(hh.config.redis.mode).toBe('sentinel');

    const first = await issue(hh, 'before-failover');
    expect(first.status).toBe(201);
    const before = (await first.json()) as Issued;
    expect(await active(hh, before.credential.token)).toBe(true);

    // WAIT covers the writes of the connection it runs on: write a marker first, so the
    // replica's acknowledgement covers everything the broker wrote before it.
    const primary = group.primary.client();
    try {
      await primary.set(`${prefix}:sentinel-test:marker`, '1');
      expect(Number(await primary.call('WAIT', '1', '2000'))).toBeGreaterThanOrEqual(1);
    } finally {
      primary.disconnect();
    }
    const replica = group.replica.client();
    try {
      expect(await replica.exists(new LeaseKeys(prefix).lease(before.lease_id))).toBe(1);
    } finally {
      replica.disconnect();
    }

    await group.killPrimary();
    const killedAt = Date.now();
    let master = await group.masterAddr();
    while (master.port !== group.replica.port && Date.now() - killedAt < 15_000) {
      await sleep(100);
      master = await group.masterAddr();
    }
    expect(master.port, 'the sentinel promoted the replica').toBe(group.replica.port);
    const promotedAfter = Date.now() - killedAt;

    // The same broker, never restarted: fail closed until its client finds the new primary.
    const refusals: string[] = [];
    let resumed = await issue(hh, 'after-failover');
    const retryUntil = Date.now() + 15_000;
    while (resumed.status !== 201 && Date.now() < retryUntil) {
      expect(resumed.status, 'a failure during the failover is a 503, never a 500').toBe(503);
      expect(resumed.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(Number(resumed.headers.get('retry-after'))).toBeGreaterThan(0);
      const problem = (await resumed.json()) as { code: string; status: number };
      expect(problem.status).toBe(503);
      expect(['store_unavailable', 'audit_unavailable']).toContain(problem.code);
      refusals.push(problem.code);
      await sleep(100);
      resumed = await issue(hh, 'after-failover');
    }
    expect(resumed.status, `issuance resumed (refused meanwhile: ${refusals.join(', ')})`).toBe(
      201,
    );
    const after = (await resumed.json()) as Issued;
    console.info(
      `sentinel failover: promoted after ${promotedAfter} ms, issuance resumed after ${
        Date.now() - killedAt
      } ms (${refusals.length} refusals)`,
    );

    // The lease issued before the failover survived it on the promoted replica.
    expect(await active(hh, before.credential.token)).toBe(true);
    expect(await active(hh, after.credential.token)).toBe(true);
    expect((await hh.request('/readyz')).status).toBe(200);

    const kill = await hh.request('/v1/workloads/agent-a/revoke', {
      method: 'POST',
      token: await hh.operatorToken(['revoker']),
      json: { reason: 'sentinel failover drill', block: false },
    });
    expect(kill.status).toBe(200);
    const counts = (await kill.json()) as { revoked: number; revoking: number; failed: number };
    expect(counts.failed).toBe(0);
    expect(counts.revoked + counts.revoking).toBeGreaterThanOrEqual(2);
    let live = [true, true];
    for (let i = 0; i < 50 && live.some(Boolean); i += 1) {
      if (i > 0) await sleep(100);
      live = [await active(hh, before.credential.token), await active(hh, after.credential.token)];
    }
    expect(live).toEqual([false, false]);
  });
});

describe('broker on Redis Sentinel: a planned failover with the old primary alive', () => {
  let g: SentinelGroup | null = null;
  let h: Harness | undefined;
  let prefix: string;
  let agent: string;

  beforeAll(async () => {
    g = await startOrSkip('Redis Sentinel (redis-server --sentinel)', startSentinelGroup);
    if (!g) return;
    h = await sentinelHarness(g);
    prefix = h.config.redis.key_prefix;
    agent = await h.workloadToken('spiffe://test/agent-a');
  });

  afterAll(async () => {
    await h?.close();
    await g?.destroy();
  });

  it('writes to the promoted replica as soon as Sentinel announces it', async (ctx) => {
    if (!g || !h) return ctx.skip();
    const hh = h;
    const group = g;
    const keys = new LeaseKeys(prefix);
    const issue = async (n: number) => {
      const res = await hh.request('/v1/credentials', {
        method: 'POST',
        token: agent,
        json: { ...REQUEST, task: { id: `planned-${n}`, intent: 'triage' } },
      });
      return res.status === 201 ? ((await res.json()) as Issued).lease_id : undefined;
    };
    expect(await issue(0)).toBeDefined();

    const sentinel = group.sentinelClient();
    try {
      expect(await sentinel.call('SENTINEL', 'FAILOVER', group.name)).toBe('OK');
    } finally {
      sentinel.disconnect();
    }
    let master = await group.masterAddr();
    const askedAt = Date.now();
    while (master.port !== group.replica.port && Date.now() - askedAt < 15_000) {
      await sleep(50);
      master = await group.masterAddr();
    }
    expect(master.port, 'the sentinel promoted the replica').toBe(group.replica.port);
    const announcedAt = Date.now();

    // The old primary keeps accepting writes until Sentinel demotes it (seconds later), and
    // loses them then. The broker must follow the announcement, not wait for the demotion.
    const promoted = group.replica.client();
    try {
      let landed = false;
      for (let n = 1; !landed && Date.now() - announcedAt < 7_000; n += 1) {
        const id = await issue(n);
        landed = id !== undefined && (await promoted.exists(keys.lease(id))) === 1;
        if (!landed) await sleep(100);
      }
      expect(landed, 'a lease issued within 7 s of the announcement is on the new primary').toBe(
        true,
      );
    } finally {
      promoted.disconnect();
    }
  });
});

describe('sentinels that require AUTH', () => {
  let g: SentinelGroup | null = null;
  const password = `s-${Date.now().toString(36)}-pw`;

  beforeAll(async () => {
    g = await startOrSkip('Redis Sentinel (redis-server --sentinel)', startSentinelGroup);
    if (!g) return;
    const sentinel = g.sentinelClient();
    try {
      expect(await sentinel.call('ACL', 'SETUSER', 'default', 'resetpass', `>${password}`)).toBe(
        'OK',
      );
    } finally {
      sentinel.disconnect();
    }
  });

  afterAll(async () => {
    await g?.destroy();
  });

  const start = (group: SentinelGroup, withPassword: boolean) =>
    sentinelHarness(group, (redis) => ({
      ...redis,
      sentinel: { ...redis.sentinel, ...(withPassword ? { password } : {}) },
    }));

  it('are reached with redis.sentinel.password, and refused without it', async (ctx) => {
    if (!g) return ctx.skip();
    await expect(start(g, false)).rejects.toThrow(/refused the credentials/);
    const h = await start(g, true);
    try {
      const res = await h.request('/v1/credentials', {
        method: 'POST',
        token: await h.workloadToken('spiffe://test/agent-a'),
        json: REQUEST,
      });
      expect(res.status).toBe(201);
      expect(h.logs.text).not.toContain(password);
    } finally {
      await h.close();
    }
  });
});
