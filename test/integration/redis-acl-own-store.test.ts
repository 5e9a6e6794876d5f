import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisCredential, RedisScope } from '../../providers/redis/index.js';
import { redisProviderFactory } from '../../providers/redis/index.js';
import { guardedConnector } from '../../providers/redis/lib/guarded-connector.js';
import { startTargetBroker } from '../helpers/account-drills.js';
import { eventually, issueCredential, refusedCredential } from '../helpers/lease-http.js';
import { aclUserExists } from '../helpers/redis-acl.js';
import { type RedisProc, startOrSkip, startRedis } from '../helpers/redis-procs.js';
import { REDIS_URL, redisAvailable, requireService, uniquePrefix } from '../helpers/services.js';

/*
 * The broker's lease store is the machine's Redis (config.redis.url, 127.0.0.1:6379 here). A
 * `redis` target naming it under another spelling must be refused, and must never receive an
 * ACL command; a separate redis-server on another port, named by the same spellings, is a
 * target like any other.
 */

const store = new URL(REDIS_URL);
const STORE_PORT = Number(store.port || 6379);
const PREFIX = `${uniquePrefix('o')}_`.slice(0, 24);
const READ: RedisScope = { keys: ['cache:*'], categories: ['read'] };

const node = await startOrSkip('dedicated redis-server', () => startRedis());
const available = node !== null && (await requireService('redis', await redisAvailable()));

const target = (host: string, port: number, name = 'redis-store') => ({
  name,
  provider: 'redis',
  nodes: [{ host, port }],
  connect: { host, port },
  user_prefix: PREFIX,
});
const policy = (targetName: string) => ({
  name: `agents-${targetName}`,
  workloads: ['agent-a'],
  target: targetName,
  allow: READ,
  intents: ['warm-cache'],
  default_ttl: '5m',
  max_ttl: '15m',
});
const request = (targetName: string) => ({
  target: targetName,
  scope: READ,
  task: { id: 'own-store-1', intent: 'warm-cache' },
});

/** The broker's start, or the message it was refused with. */
async function started(host: string, port: number): Promise<string> {
  return startTargetBroker({
    store: 'memory',
    target: target(host, port),
    policy: policy('redis-store'),
  }).then(
    async ({ h }) => {
      await h.close();
      return 'started';
    },
    (err: Error) => err.message,
  );
}

describe.skipIf(!available)("a redis target on the broker's own lease store", () => {
  let root: Redis;

  beforeAll(() => {
    root = new Redis(REDIS_URL);
  });

  afterAll(async () => {
    // Whatever a broken check let through must not outlive the suite on the shared Redis.
    const users = (await root.call('ACL', 'USERS')) as string[];
    for (const user of users.filter((name) => name.startsWith(PREFIX))) {
      await root.call('ACL', 'DELUSER', user);
    }
    root.disconnect();
    await node?.destroy();
  });

  it.each(['127.1', '2130706433', '0.0.0.0', '127.000.000.001'])(
    'spelled %s: refused at start on the lease store, naming the target; a separate Redis is used',
    async (host) => {
      const message = await started(host, STORE_PORT);
      expect(message).toMatch(/redis target "redis-store"/);
      expect(message).toMatch(/the broker's own lease store/);

      // The same spelling for a separate Redis on another port is a target like any other.
      const { port } = node as RedisProc;
      const other = new Redis({ host: '127.0.0.1', port });
      const broker = await startTargetBroker({
        store: 'memory',
        target: target(host, port),
        policy: policy('redis-store'),
      });
      try {
        const { credential } = await issueCredential<RedisCredential>(
          broker.h,
          broker.agentA,
          request('redis-store'),
          [],
        );
        expect(await aclUserExists(other, credential.username)).toBe(true);
        expect(await aclUserExists(root, credential.username)).toBe(false);
      } finally {
        await broker.h.close();
        other.disconnect();
      }
    },
  );

  it('a name that resolves to the lease store is refused at its first connection, every time', async () => {
    // This machine's own name: no string comparison can tell it is the lease store.
    const alias = hostname();
    const resolved = await lookup(alias, { all: true }).catch(() => []);
    expect(resolved.length, `${alias} does not resolve here`).toBeGreaterThan(0);

    const broker = await startTargetBroker({
      store: 'memory',
      target: target(alias, STORE_PORT, 'redis-alias'),
      policy: policy('redis-alias'),
    });
    const { h, agentA } = broker;
    try {
      for (let attempt = 0; attempt < 2; attempt += 1) {
        expect(await refusedCredential(h, agentA, request('redis-alias'))).toEqual({
          // The operator pointed the target at the lease store: theirs to fix, not the caller's.
          status: 502,
          code: 'provider_misconfigured',
        });
      }
      const users = (await root.call('ACL', 'USERS')) as string[];
      expect(users.filter((user) => user.startsWith(PREFIX))).toEqual([]);
      // Both attempts say why (not "Connection is closed" the second time).
      const refusals = h.logs.text
        .split('\n')
        .filter((line) => line.includes('mint failed') && line.includes('redis-alias'));
      expect(refusals).toHaveLength(2);
      for (const line of refusals) {
        expect(line).toMatch(/redis target \\"redis-alias\\"/);
        expect(line).toMatch(/the broker's own lease store/);
      }

      const operator = await h.operatorToken(['viewer']);
      const detail = await eventually(async () => {
        const res = await h.request('/v1/readiness', { token: operator });
        return JSON.stringify(await res.json()).includes("the broker's own lease store");
      });
      expect(detail).toBe(true);
    } finally {
      await h.close();
    }
  });

  it('checks again at every connection ioredis makes, its own reconnects included', async () => {
    const { port } = node as RedisProc;
    let refuse = false;
    const asked: string[] = [];
    const client = new Redis({
      host: 'cache.test',
      port,
      lazyConnect: true,
      enableReadyCheck: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 20,
      // `cache.test` resolves nowhere: the connection goes to the address the check answered.
      Connector: guardedConnector(async (host, checkedPort) => {
        asked.push(`${host}:${checkedPort}`);
        if (refuse) throw new Error(`${host} is the broker's own lease store now`);
        return ['127.0.0.1'];
      }),
    });
    client.on('error', () => {});
    try {
      expect(await client.ping()).toBe('PONG');
      expect(asked).toEqual([`cache.test:${port}`]);

      refuse = true;
      const id = await client.call('CLIENT', 'ID');
      const other = new Redis({ host: '127.0.0.1', port });
      await other.call('CLIENT', 'KILL', 'ID', String(id));
      other.disconnect();
      expect(await eventually(async () => client.status === 'end', 2_000)).toBe(true);
      expect(asked).toHaveLength(2);
      // A refusal ends the client; connecting again checks again.
      await expect(client.connect()).rejects.toThrow(/cache\.test is the broker's own lease store/);
      refuse = false;
      await client.connect();
      expect(await client.ping()).toBe('PONG');
      expect(asked).toHaveLength(4);
    } finally {
      client.disconnect();
    }
  });

  it('a lease-store server discovered after start (a failover) is refused at the next connection', async () => {
    const { port } = node as RedisProc;
    let discovered: { host: string; port: number }[] = [];
    const provider = redisProviderFactory.create(target('127.0.0.1', port, 'moving'), {
      brokerUrl: 'https://broker.test',
      ownRedis: () => discovered,
    });
    try {
      expect((await provider.check()).ok).toBe(true);
      // Sentinel now names this server as part of the lease store: the provider's list is
      // read at every connection, so the next one is refused without a reload.
      discovered = [{ host: '127.0.0.1', port }];
      const other = new Redis({ host: '127.0.0.1', port });
      await other.call('CLIENT', 'KILL', 'TYPE', 'normal');
      other.disconnect();
      expect(await eventually(async () => !(await provider.check()).ok, 3_000)).toBe(true);
    } finally {
      await provider.close?.();
    }
  });
});
