import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisCredential, RedisScope } from '../../providers/redis/index.js';
import { createLogger } from '../../src/lib/logger.js';
import { startBroker } from '../../src/server.js';
import { Capture, type Harness, sleep, startHarness } from '../helpers/broker-harness.js';
import {
  activeLeases,
  eventually,
  expectNoSecretOutput,
  issueCredential,
  leaseState,
  refusedCredential,
  revokeLease,
  revokeWorkload,
} from '../helpers/lease-http.js';
import { REDIS_URL, redisAvailable, requireService } from '../helpers/services.js';

/*
 * The redis provider end to end through the broker's HTTP API. The ACL target is a dedicated
 * redis-server started here on a spare loopback port: the machine's Redis on 6379 is the
 * broker's lease-store endpoint (config.redis.url, passed to providers even with the memory
 * store), which the provider refuses as a target. The broker's admin ACL user holds exactly
 * the rights docs/providers/redis.md lists.
 */

const ADMIN_USER = 'jit-broker';
const ADMIN_PASSWORD = randomBytes(18).toString('base64url');
const PREFIX = 'jit_';

interface RedisNode {
  port: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** Whether something accepts TCP connections on the loopback port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A throw-away redis-server that keeps nothing on disk; `null` when it cannot start. */
async function startRedisNode(): Promise<RedisNode | null> {
  const dir = await mkdtemp(join(tmpdir(), 'jit-acl-redis-'));
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.env.REDIS_SERVER_BIN ?? 'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--dir',
      dir,
    ],
    { stdio: 'ignore' },
  );
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', () => {
      exited = true;
      resolve();
    });
  });
  const stop = async () => {
    if (!exited) child.kill('SIGTERM');
    await exit;
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 50 && !exited; i += 1) {
    if (await listening(port)) {
      if (await redisAvailable(`redis://127.0.0.1:${port}`)) return { port, stop };
      break;
    }
    await sleep(100);
  }
  console.warn(`redis-server did not start on port ${port}`);
  await stop();
  return null;
}

const node = await startRedisNode();
const available = await requireService('dedicated redis-server', node !== null);

const request = (scope: RedisScope, extra: Record<string, unknown> = {}) => ({
  target: 'redis-cache',
  scope,
  task: { id: `rd-${randomBytes(3).toString('hex')}`, intent: 'warm-cache' },
  ...extra,
});
const READ: RedisScope = { keys: ['cache:*'], categories: ['read'] };
const READ_WRITE: RedisScope = { keys: ['cache:*'], categories: ['read', 'write'] };

describe.skipIf(!available)('redis ACL credentials over the HTTP API', () => {
  const { port } = node as RedisNode;
  let root: Redis;
  let h: Harness;
  let agentA: string;
  let agentB: string;
  const secrets: string[] = [ADMIN_PASSWORD];
  const clients: Redis[] = [];

  const target = (overrides: Record<string, unknown> = {}) => ({
    name: 'redis-cache',
    provider: 'redis',
    nodes: [{ host: '127.0.0.1', port }],
    admin_username: ADMIN_USER,
    admin_password: ADMIN_PASSWORD,
    connect: { host: '127.0.0.1', port },
    user_prefix: PREFIX,
    ...overrides,
  });

  async function login(credential: RedisCredential, password = credential.password) {
    const client = new Redis({
      host: credential.host,
      port: credential.port,
      username: credential.username,
      password,
      lazyConnect: true,
      enableReadyCheck: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    });
    client.on('error', () => {});
    clients.push(client);
    await client.connect();
    return client;
  }

  /**
   * A fresh connection's `AUTH user password`: `null` when accepted, else the error text.
   * (ioredis reports a failed AUTH during connect as an event, not a rejection.)
   */
  async function loginFailure(credential: RedisCredential, password = credential.password) {
    const client = new Redis({
      host: credential.host,
      port: credential.port,
      lazyConnect: true,
      enableReadyCheck: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    try {
      expect(await client.call('AUTH', credential.username, password)).toBe('OK');
      return null;
    } catch (err) {
      return (err as Error).message;
    } finally {
      client.disconnect();
    }
  }

  async function alive(client: Redis): Promise<boolean> {
    try {
      await client.get('cache:probe');
      return true;
    } catch {
      return false;
    }
  }

  async function userExists(user: string): Promise<boolean> {
    return (await root.call('ACL', 'GETUSER', user)) !== null;
  }

  async function prefixedUsers(): Promise<number> {
    const users = (await root.call('ACL', 'USERS')) as string[];
    return users.filter((user) => user.startsWith(PREFIX)).length;
  }

  /** How many `ACL SETUSER` the node has run: proof that a refusal sent it nothing. */
  async function setuserCalls(): Promise<number> {
    const info = await root.info('commandstats');
    const match = /cmdstat_acl\|setuser:calls=(\d+)/.exec(info);
    return Number(match?.[1] ?? 0);
  }

  beforeAll(async () => {
    root = new Redis({ host: '127.0.0.1', port });
    // The admin rights of docs/providers/redis.md, nothing more.
    await root.call(
      'ACL',
      'SETUSER',
      ADMIN_USER,
      'on',
      `>${ADMIN_PASSWORD}`,
      'resetkeys',
      'resetchannels',
      '-@all',
      '+acl|setuser',
      '+acl|deluser',
      '+acl|users',
      '+ping',
    );
    await root.set('cache:seed', 'seeded');
    await root.set('sessions:secret', 'not yours');

    h = await startHarness({
      store: 'memory',
      listen: true,
      configure(raw) {
        (raw.targets as unknown[]).push(target());
        (raw.policies as unknown[]).push({
          name: 'agents-warm-cache',
          workloads: ['agent-a', 'agent-b'],
          target: 'redis-cache',
          allow: { keys: ['cache:*'], categories: ['read', 'write', 'string'] },
          intents: ['warm-cache'],
          default_ttl: '5m',
          max_ttl: '15m',
        });
      },
    });
    agentA = await h.workloadToken('spiffe://test/agent-a');
    agentB = await h.workloadToken('spiffe://test/agent-b');
  });

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await h?.close();
    root?.disconnect();
    await node?.stop();
  });

  it('mints a user that logs in with its password, not a wrong one, and reads but cannot write', async () => {
    const issued = await issueCredential<RedisCredential>(h, agentA, request(READ), secrets);
    const { credential } = issued;
    expect(credential.username).toBe(`${PREFIX}${issued.lease_id.slice(4)}`);
    expect(credential).toMatchObject({ host: '127.0.0.1', port, tls: false });

    const session = await login(credential);
    expect(await session.get('cache:seed')).toBe('seeded');
    await expect(session.set('cache:seed', 'overwritten')).rejects.toThrow(/^NOPERM/);
    await expect(session.get('sessions:secret')).rejects.toThrow(/^NOPERM/);
    await expect(session.call('FLUSHALL')).rejects.toThrow(/^NOPERM/);
    expect(await root.get('cache:seed')).toBe('seeded');
    session.disconnect();

    expect(await loginFailure(credential, `${credential.password.slice(0, -2)}xy`)).toMatch(
      /^WRONGPASS/,
    );
    expect(await loginFailure(credential)).toBeNull();
    await revokeLease(h, agentA, issued.lease_id);
  });

  it('a read-write user writes inside its key pattern and nowhere else', async () => {
    const { lease_id, credential } = await issueCredential<RedisCredential>(
      h,
      agentA,
      request(READ_WRITE),
      secrets,
    );
    const session = await login(credential);
    await session.set('cache:written', 'yes');
    expect(await root.get('cache:written')).toBe('yes');
    await expect(session.set('sessions:secret', 'stolen')).rejects.toThrow(/^NOPERM/);
    expect(await root.get('sessions:secret')).toBe('not yours');
    session.disconnect();
    await revokeLease(h, agentA, lease_id);
  });

  it('DELETE /v1/leases/{id} closes the open connection, refuses new logins and deletes the user', async () => {
    const { lease_id, credential } = await issueCredential<RedisCredential>(
      h,
      agentA,
      request(READ),
      secrets,
    );
    const session = await login(credential);
    expect(await alive(session)).toBe(true);

    await revokeLease(h, agentA, lease_id);

    expect(await eventually(async () => !(await alive(session)), 2_000)).toBe(true);
    expect(await loginFailure(credential)).toMatch(/^WRONGPASS/);
    expect(await userExists(credential.username)).toBe(false);
  });

  it('the reaper deletes the user when the lease expires and closes its connection', async () => {
    const { lease_id, credential } = await issueCredential<RedisCredential>(
      h,
      agentA,
      request(READ, { ttl: 1 }),
      secrets,
    );
    const session = await login(credential);
    expect(await alive(session)).toBe(true);

    expect(await eventually(async () => !(await userExists(credential.username)), 5_000)).toBe(
      true,
    );
    expect(await eventually(async () => !(await alive(session)), 2_000)).toBe(true);
    expect(await loginFailure(credential)).toMatch(/^WRONGPASS/);
    expect(await leaseState(h, agentA, lease_id)).toBe('expired');
  });

  it('the kill switch revokes both users of agent-a in one call and leaves agent-b alone', async () => {
    const first = await issueCredential<RedisCredential>(h, agentA, request(READ), secrets);
    const second = await issueCredential<RedisCredential>(h, agentA, request(READ_WRITE), secrets);
    const other = await issueCredential<RedisCredential>(h, agentB, request(READ), secrets);
    const open = [await login(first.credential), await login(second.credential)];
    const bystander = await login(other.credential);
    const live = await activeLeases(h, 'agent-a');
    expect(live).toEqual(expect.arrayContaining([first.lease_id, second.lease_id]));

    const counts = await revokeWorkload(h, 'agent-a');
    expect(counts).toMatchObject({ failed: 0, blocked: false });
    expect(counts.revoked + counts.revoking).toBe(live.length);

    for (const { credential } of [first, second]) {
      expect(await eventually(async () => !(await userExists(credential.username)))).toBe(true);
      expect(await loginFailure(credential)).toMatch(/^WRONGPASS/);
    }
    for (const session of open) {
      expect(await eventually(async () => !(await alive(session)), 2_000)).toBe(true);
    }
    expect(await alive(bystander)).toBe(true);
    expect(await userExists(other.credential.username)).toBe(true);
    bystander.disconnect();
    await revokeLease(h, agentB, other.lease_id);
  });

  it('refuses patterns outside the ceiling (403) and rule injection (422) before any ACL command', async () => {
    const calls = await setuserCalls();
    const users = await prefixedUsers();
    for (const scope of [
      { keys: ['sessions:*'], categories: ['read'] },
      { keys: ['*'], categories: ['read'] },
      { keys: ['cache:*'], categories: ['read', 'hash'] },
    ]) {
      expect(await refusedCredential(h, agentA, request(scope as RedisScope))).toEqual({
        status: 403,
        code: 'scope_exceeds_ceiling',
      });
    }
    for (const scope of [
      { keys: ['cache:* ~*'], categories: ['read'] },
      { keys: ['cache:* allkeys +@all'], categories: ['read'] },
      { keys: ['~*'], categories: ['read'] },
      { keys: ['cache:*'], categories: ['all'] },
      { keys: ['cache:*'], categories: ['read +@all'] },
      { keys: ['cache:*'], categories: ['dangerous'] },
    ]) {
      expect(await refusedCredential(h, agentA, request(scope as RedisScope))).toEqual({
        status: 422,
        code: 'scope_invalid',
      });
    }
    expect(await setuserCalls()).toBe(calls);
    expect(await prefixedUsers()).toBe(users);

    // The control: a granted request does show up in the counter.
    const { lease_id } = await issueCredential<RedisCredential>(h, agentA, request(READ), secrets);
    expect(await setuserCalls()).toBe(calls + 1);
    await revokeLease(h, agentA, lease_id);
  });

  it('the broker refuses to start with a target on its own lease-store Redis', async () => {
    const store = new URL(REDIS_URL);
    const lease = { host: 'localhost', port: Number(store.port || 6379) };
    const logs = new Capture();
    const config = {
      ...h.config,
      targets: [
        ...h.config.targets,
        target({ name: 'redis-store', nodes: [lease], connect: { host: '127.0.0.1', port } }),
      ],
    };
    await expect(
      startBroker({
        config,
        store: 'memory',
        logger: createLogger({ level: 'debug', destination: logs }),
        eventsOut: new Capture(),
        listen: false,
        reaper: false,
      }),
    ).rejects.toThrow(/lease store/);
    expect(() => h.broker.reload(config)).toThrow(/lease store/);
    // The running broker kept its runtime.
    expect(h.broker.runtime().providers.has('redis-store')).toBe(false);
  });

  it('leaves no user behind and no password in events or broker logs', async () => {
    expect(await activeLeases(h, 'agent-a')).toEqual([]);
    expect(await activeLeases(h, 'agent-b')).toEqual([]);
    expect(await prefixedUsers()).toBe(0);
    expect(secrets.length).toBeGreaterThan(6);
    expectNoSecretOutput(h, secrets);
  });
});
