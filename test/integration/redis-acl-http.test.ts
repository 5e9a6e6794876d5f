import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisCredential, RedisScope } from '../../providers/redis/index.js';
import { createLogger } from '../../src/lib/logger.js';
import { startBroker } from '../../src/server.js';
import {
  type AccountProbe,
  expectKillSwitchSparesBystander,
  expectNothingLeft,
  expectReaperEndsAccess,
  expectRevokeEndsAccess,
  startTargetBroker,
  type TargetBroker,
} from '../helpers/account-drills.js';
import { Capture, type Harness } from '../helpers/broker-harness.js';
import { issueCredential, refusedCredential, revokeLease } from '../helpers/lease-http.js';
import { aclUserExists, loginRedis } from '../helpers/redis-acl.js';
import { type RedisProc, startOrSkip, startRedis } from '../helpers/redis-procs.js';
import { REDIS_URL } from '../helpers/services.js';

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

const node = await startOrSkip('dedicated redis-server', () => startRedis());
const available = node !== null;

const request = (scope: RedisScope, extra: Record<string, unknown> = {}) => ({
  target: 'redis-cache',
  scope,
  task: { id: `rd-${randomBytes(3).toString('hex')}`, intent: 'warm-cache' },
  ...extra,
});
const READ: RedisScope = { keys: ['cache:*'], categories: ['read'] };
const READ_WRITE: RedisScope = { keys: ['cache:*'], categories: ['read', 'write'] };

describe.skipIf(!available)('redis ACL credentials over the HTTP API', () => {
  const { port } = node as RedisProc;
  let root: Redis;
  let broker: TargetBroker;
  let h: Harness;
  let agentA: string;
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

  const login = (credential: RedisCredential) => loginRedis(credential, clients);

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

  const userExists = (user: string) => aclUserExists(root, user);

  const users: AccountProbe<RedisCredential, Redis> = {
    login,
    alive,
    close: async (session) => session.disconnect(),
    exists: userExists,
    loginFailure,
    refused: /^WRONGPASS/,
  };

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

    broker = await startTargetBroker({
      store: 'memory',
      target: target(),
      policy: {
        name: 'agents-warm-cache',
        workloads: ['agent-a', 'agent-b'],
        target: 'redis-cache',
        allow: { keys: ['cache:*'], categories: ['read', 'write', 'string'] },
        intents: ['warm-cache'],
        default_ttl: '5m',
        max_ttl: '15m',
      },
    });
    ({ h, agentA } = broker);
  });

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await h?.close();
    root?.disconnect();
    await node?.destroy();
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
    await expectRevokeEndsAccess(broker, secrets, users, request(READ), {
      sessionEndsWithinMs: 2_000,
    });
  });

  it('the reaper deletes the user when the lease expires and closes its connection', async () => {
    await expectReaperEndsAccess(broker, secrets, users, request(READ, { ttl: 1 }), {
      removedWithinMs: 5_000,
      sessionEndsWithinMs: 2_000,
    });
  });

  it('the kill switch revokes both users of agent-a in one call and leaves agent-b alone', async () => {
    await expectKillSwitchSparesBystander(
      broker,
      secrets,
      users,
      [() => request(READ), () => request(READ_WRITE)],
      { sessionEndsWithinMs: 2_000 },
    );
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
    await expectNothingLeft(broker, secrets, prefixedUsers, 6);
  });
});
