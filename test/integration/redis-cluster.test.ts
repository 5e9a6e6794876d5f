import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerConfig, configSchema } from '../../src/config/schema.js';
import { LeaseKeys } from '../../src/leases/keys.js';
import { createRedisClient, waitReady } from '../../src/leases/redis-client.js';
import { RedisLeaseStore } from '../../src/leases/redis-store.js';
import { createLogger } from '../../src/lib/logger.js';
import { startBroker } from '../../src/server.js';
import { Capture, type Harness, sleep, startHarness } from '../helpers/broker-harness.js';
import { CONFORMANCE_SETTINGS, describeLeaseStore } from '../helpers/lease-store-conformance.js';
import { type RedisClusterProcs, startOrSkip, startRedisCluster } from '../helpers/redis-procs.js';
import { uniquePrefix } from '../helpers/services.js';

/**
 * A real three-master Redis Cluster on loopback ports: the lease scripts, the reaper, the
 * kill switch and the event stream must all work when a workload's keys live on one node
 * and the global hints on another.
 */
let started: Promise<RedisClusterProcs | null> | undefined;
const cluster = () => {
  started ??= startOrSkip('Redis Cluster (redis-server --cluster-enabled)', startRedisCluster);
  return started;
};

afterAll(async () => {
  await (await started)?.destroy();
});

function clusterConfig(c: RedisClusterProcs, prefix: string): BrokerConfig['redis'] {
  return { url: c.url, mode: 'cluster', nodes: c.nodes, key_prefix: prefix, require_aof: false };
}

describeLeaseStore('redis cluster', async () => {
  const c = await cluster();
  if (!c) return null;
  const prefix = uniquePrefix('lsc');
  const client = createRedisClient(clusterConfig(c, prefix));
  client.on('error', () => {});
  await waitReady(client, 10_000);
  expect(client.isCluster).toBe(true);
  return {
    store: new RedisLeaseStore(client, prefix, CONFORMANCE_SETTINGS),
    // The cluster is torn down whole in afterAll.
    cleanup: async () => {
      client.disconnect();
    },
  };
});

const REQUEST = {
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: 'task-c1', intent: 'triage' },
};

interface Issued {
  lease_id: string;
  credential: { token: string };
}

describe('broker on a three-master Redis Cluster', () => {
  let c: RedisClusterProcs | null = null;
  let h: Harness | undefined;
  let prefix: string;
  /** A second workload whose hash tag lands on a different master than agent-a's. */
  let other: string;
  let tokenA: string;
  let tokenOther: string;
  let api: string;
  let inspect: Cluster;

  beforeAll(async () => {
    c = await cluster();
    if (!c) return;
    const owners = new Map<string, number>();
    for (const w of ['agent-a', 'agent-b', 'agent-c', 'agent-d', 'agent-e', 'agent-f']) {
      owners.set(w, await c.ownerOf(new LeaseKeys('x').due(w)));
    }
    const found = [...owners].find(([, port]) => port !== owners.get('agent-a'));
    if (!found) throw new Error('no candidate workload lands on another master');
    other = found[0];
    h = await startHarness({
      store: 'redis',
      listen: true,
      configure(raw) {
        const redis = raw.redis as { key_prefix: string };
        prefix = redis.key_prefix;
        raw.redis = { ...clusterConfig(c as RedisClusterProcs, prefix) };
        const workloads = raw.workloads as { id: string }[];
        if (!workloads.some((w) => w.id === other)) {
          workloads.push({
            id: other,
            issuer: 'test',
            subject: `spiffe://test/${other}`,
            tier: 'write',
          } as { id: string });
        }
        const policies = raw.policies as { workloads: string[] }[];
        const policy = policies[0] as { workloads: string[] };
        if (!policy.workloads.includes(other)) policy.workloads.push(other);
      },
    });
    tokenA = await h.workloadToken('spiffe://test/agent-a');
    tokenOther = await h.workloadToken(`spiffe://test/${other}`);
    api = await h.workloadToken('spiffe://test/tickets-api');
    inspect = createRedisClient(h.config.redis) as Cluster;
    inspect.on('error', () => {});
    await waitReady(inspect, 10_000);
  });

  afterAll(async () => {
    inspect?.disconnect();
    await h?.close();
  });

  const harness = (ctx: { skip: () => void }): Harness => {
    if (!h) ctx.skip();
    return h as Harness;
  };

  async function issue(hh: Harness, token: string, body: object = REQUEST): Promise<Issued> {
    const res = await hh.request('/v1/credentials', { method: 'POST', token, json: body });
    expect(res.status).toBe(201);
    return (await res.json()) as Issued;
  }

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

  it('runs in cluster mode with the two workloads on different masters', async (ctx) => {
    const hh = harness(ctx);
    expect(hh.config.redis.mode).toBe('cluster');
    const a = await issue(hh, tokenA);
    const b = await issue(hh, tokenOther);
    const keys = new LeaseKeys(prefix);
    const portA = await c?.ownerOf(keys.lease(a.lease_id));
    const portB = await c?.ownerOf(keys.lease(b.lease_id));
    expect(portA).not.toBe(portB);
    // Each lease hash really lives on its workload's master, with the workload's own keys.
    expect(portA).toBe(await c?.ownerOf(keys.due('agent-a')));
    expect(portB).toBe(await c?.ownerOf(keys.due(other)));
    expect(await inspect.exists(keys.lease(a.lease_id))).toBe(1);
    expect(await inspect.exists(keys.lease(b.lease_id))).toBe(1);
    expect(await active(hh, a.credential.token)).toBe(true);
    expect(await active(hh, b.credential.token)).toBe(true);
    const ready = await hh.request('/readyz');
    expect(ready.status).toBe(200);
  });

  it('the reaper expires a short-TTL lease', async (ctx) => {
    const hh = harness(ctx);
    const issued = await issue(hh, tokenOther, { ...REQUEST, ttl: 1 });
    let state = 'active';
    for (let i = 0; i < 50 && state !== 'expired'; i += 1) {
      await sleep(100);
      const res = await hh.request(`/v1/leases/${issued.lease_id}`, { token: tokenOther });
      state = ((await res.json()) as { state: string }).state;
    }
    expect(state).toBe('expired');
    expect(await active(hh, issued.credential.token)).toBe(false);
    const events = await hh.flushedEvents();
    expect(events.some((e) => e.type === 'lease.expired' && e.lease_id === issued.lease_id)).toBe(
      true,
    );
  });

  it('the kill switch revokes every lease of one workload and none of the other', async (ctx) => {
    const hh = harness(ctx);
    const ofA = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        issue(hh, tokenA, { ...REQUEST, task: { id: `kill-${i}`, intent: 'triage' } }),
      ),
    );
    const ofOther = await issue(hh, tokenOther);
    const res = await hh.request('/v1/workloads/agent-a/revoke', {
      method: 'POST',
      token: await hh.operatorToken(['revoker']),
      json: { reason: 'cluster drill', block: false },
    });
    expect(res.status).toBe(200);
    const counts = (await res.json()) as { revoked: number; revoking: number; failed: number };
    expect(counts.failed).toBe(0);
    expect(counts.revoked + counts.revoking).toBeGreaterThanOrEqual(ofA.length);
    let live = -1;
    const viewer = await hh.operatorToken(['viewer']);
    for (let i = 0; i < 50 && live !== 0; i += 1) {
      const list = await hh.request('/v1/leases?workload=agent-a&state=active&limit=500', {
        token: viewer,
      });
      live = ((await list.json()) as { leases: unknown[] }).leases.length;
      if (live !== 0) await sleep(100);
    }
    expect(live).toBe(0);
    for (const issued of ofA.slice(0, 5))
      expect(await active(hh, issued.credential.token)).toBe(false);
    expect(await active(hh, ofOther.credential.token)).toBe(true);
    // Not blocked: agent-a may get new credentials, minted after the epoch.
    const after = await issue(hh, tokenA);
    expect(await active(hh, after.credential.token)).toBe(true);
  });

  it('the Redis Stream event sink writes to the cluster', async (ctx) => {
    const hh = harness(ctx);
    const issued = await issue(hh, tokenA, {
      ...REQUEST,
      task: { id: 'stream', intent: 'triage' },
    });
    await hh.broker.events.flush();
    const key = `${prefix}:${hh.config.events.redis_stream.stream}`;
    const entries = await inspect.xrange(key, '-', '+');
    const types = entries.map(([, fields]) => {
      const event = JSON.parse(fields[1] ?? 'null') as { type: string; lease_id?: string };
      return event.lease_id === issued.lease_id ? event.type : undefined;
    });
    expect(types).toContain('credential.issued');
    const stats = hh.broker.events.stats().sinks['redis-stream'];
    expect(stats).toMatchObject({ failed: 0 });
    expect(stats?.written).toBeGreaterThan(0);
  });
});

describe('require_aof on a Redis Cluster', () => {
  async function start(c: RedisClusterProcs) {
    return startBroker({
      config: configSchema.parse({
        server: { host: '127.0.0.1', port: 0 },
        redis: clusterConfig(c, uniquePrefix('aofc')),
        events: { stdout: { enabled: false } },
        encryption: { keys: [{ id: 'k1', key: Buffer.alloc(32, 7).toString('base64') }] },
      }),
      store: 'redis',
      logger: createLogger({ level: 'silent', destination: new Capture() }),
      listen: false,
      reaper: false,
      requireAof: true,
    });
  }

  it('refuses while any master keeps no AOF, and starts once every master does', async (ctx) => {
    const c = await cluster();
    if (!c) return ctx.skip();
    const [first, ...rest] = c.masters.map((m) => m.client());
    try {
      await first?.config('SET', 'appendonly', 'yes');
      // Whichever node a keyless INFO lands on, the answer must be the same.
      for (let i = 0; i < 10; i += 1) {
        await expect(start(c)).rejects.toThrow(/append-only file/);
      }
      for (const node of rest) await node.config('SET', 'appendonly', 'yes');
      const broker = await start(c);
      await broker.close();
      // Let the initial AOF rewrites finish: Redis refuses a clean shutdown during them.
      for (const node of [first, ...rest]) {
        for (let i = 0; i < 100; i += 1) {
          const info = (await node?.info('persistence')) ?? '';
          if (/aof_rewrite_in_progress:0/.test(info) && /aof_rewrite_scheduled:0/.test(info)) break;
          await sleep(50);
        }
      }
    } finally {
      for (const node of [first, ...rest]) node?.disconnect();
    }
  });
});
