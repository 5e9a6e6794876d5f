import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MintRequest, ProviderError } from '../../providers/provider.js';
import {
  type RedisAclProvider,
  type RedisCredential,
  type RedisScope,
  redisProviderFactory,
} from '../../providers/redis/index.js';
import { newLeaseId } from '../../src/lib/ids.js';
import { aclUserExists, loginRedis } from '../helpers/redis-acl.js';
import {
  deletePrefix,
  REDIS_URL,
  redisAvailable,
  requireService,
  uniquePrefix,
} from '../helpers/services.js';

/*
 * Runs against the machine's Redis. The provider works through an admin ACL user that holds
 * exactly the rights docs/providers/redis.md lists, so the documented set is proven enough.
 */

const PREFIX = `${uniquePrefix('r')}_`;
const KEYS = `${PREFIX}k:`;
const ADMIN_USER = `${PREFIX}admin`;
const ADMIN_PASSWORD = randomBytes(18).toString('base64url');
const server = new URL(REDIS_URL);
const HOST = server.hostname;
const PORT = Number(server.port || 6379);

const available = await requireService('redis', await redisAvailable());

let root: Redis;
let provider: RedisAclProvider;
const clients: Redis[] = [];
/** Every lease this suite minted for: the sweeper must see them as live. */
const minted = new Set<string>();

function target(overrides: Record<string, unknown> = {}) {
  return {
    name: 'redis-test',
    provider: 'redis',
    nodes: [{ host: HOST, port: PORT }],
    admin_username: ADMIN_USER,
    admin_password: ADMIN_PASSWORD,
    connect: { host: HOST, port: PORT },
    user_prefix: PREFIX,
    ...overrides,
  };
}

function create(
  overrides: Record<string, unknown> = {},
  ownRedis: { host: string; port: number }[] = [],
): RedisAclProvider {
  return redisProviderFactory.create(target(overrides), {
    brokerUrl: 'https://broker.test',
    ownRedis: () => ownRedis,
  }) as RedisAclProvider;
}

function mintRequest(scope: RedisScope, leaseId = newLeaseId()): MintRequest<RedisScope> {
  const now = Date.now();
  minted.add(leaseId);
  return {
    leaseId,
    workload: 'cache-mcp',
    subject: 'system:serviceaccount:mcp:cache-mcp',
    task: { id: 'task-1', intent: 'warm-cache' },
    scope,
    issuedAt: now,
    expiresAt: now + 300_000,
  };
}

/** `@string` alone: GET and SET, but no hash, list or keyspace command. */
const CACHE_SCOPE: RedisScope = { keys: [`${KEYS}cache:*`], categories: ['string'] };

const login = (credential: RedisCredential) => loginRedis(credential, clients);

/** The reply to `AUTH user password` on a fresh connection. */
async function auth(user: string, password: string): Promise<string> {
  const client = new Redis({ host: HOST, port: PORT, lazyConnect: true, enableReadyCheck: false });
  client.on('error', () => {});
  clients.push(client);
  try {
    return String(await client.call('AUTH', user, password));
  } catch (err) {
    return (err as Error).message;
  } finally {
    client.disconnect();
  }
}

const userExists = (user: string) => aclUserExists(root, user);

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe.skipIf(!available)('redis provider (ACL users)', () => {
  beforeAll(async () => {
    root = new Redis(REDIS_URL);
    // The admin rights of docs/providers/redis.md.
    await root.call(
      'ACL',
      'SETUSER',
      ADMIN_USER,
      'reset',
      `>${ADMIN_PASSWORD}`,
      '+acl|setuser',
      '+acl|deluser',
      '+acl|users',
      '+ping',
      'on',
    );
    provider = create();
  });

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await provider?.close();
    if (root === undefined) return;
    const users = (await root.call('ACL', 'USERS')) as string[];
    const ours = users.filter((user) => user.startsWith(PREFIX));
    if (ours.length > 0) await root.call('ACL', 'DELUSER', ...ours);
    await deletePrefix(root, PREFIX);
    root.disconnect();
  });

  it('mints a user that works inside its key pattern and is refused outside it', async () => {
    const { credential, handle } = await provider.mint(mintRequest(CACHE_SCOPE));
    expect(credential.username).toMatch(new RegExp(`^${PREFIX}[0-9a-z]{28}$`));
    expect(handle).toEqual({ user: credential.username });
    expect(credential).toMatchObject({ host: HOST, port: PORT, tls: false });

    const session = await login(credential);
    await session.set(`${KEYS}cache:a`, '1');
    expect(await session.get(`${KEYS}cache:a`)).toBe('1');

    expect((await rejection(session.set(`${KEYS}other`, '1'))).message).toMatch(/^NOPERM/);
    expect((await rejection(session.get(`${KEYS}other`))).message).toMatch(/^NOPERM/);
    // A category it lacks, inside its own pattern.
    expect((await rejection(session.hset(`${KEYS}cache:h`, 'f', 'v'))).message).toMatch(/^NOPERM/);
    expect((await rejection(session.del(`${KEYS}cache:a`))).message).toMatch(/^NOPERM/);

    const reader = await provider.mint(
      mintRequest({ keys: [`${KEYS}cache:*`], categories: ['read'] }),
    );
    const reads = await login(reader.credential);
    expect(await reads.get(`${KEYS}cache:a`)).toBe('1');
    expect((await rejection(reads.set(`${KEYS}cache:a`, '2'))).message).toMatch(/^NOPERM/);

    expect(await auth(credential.username, credential.password)).toBe('OK');
    expect(await auth(credential.username, `${credential.password}x`)).toMatch(/^WRONGPASS/);
  });

  it('never grants keyless commands that reach beyond the patterns', async () => {
    const { credential } = await provider.mint(
      mintRequest({
        keys: [`${KEYS}wide:*`],
        categories: ['read', 'write', 'keyspace', 'string', 'slow', 'fast', 'connection'],
      }),
    );
    const session = await login(credential);
    for (const command of [
      () => session.flushall(),
      () => session.flushdb(),
      () => session.scan('0'),
      () => session.keys('*'),
      () => session.randomkey(),
      () => session.eval('return 1', 0),
      () => session.call('CONFIG', 'GET', 'requirepass'),
      () => session.call('ACL', 'LIST'),
      () => session.call('CLIENT', 'LIST'),
    ]) {
      expect((await rejection(command())).message).toMatch(/^NOPERM/);
    }
    await session.set(`${KEYS}wide:ok`, '1');
  });

  it('revoke deletes the user, closes its connection, and is idempotent', async () => {
    const leaseId = newLeaseId();
    const mintedLease = await provider.mint(mintRequest(CACHE_SCOPE, leaseId));
    const session = await login(mintedLease.credential);
    const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
    await session.set(`${KEYS}cache:b`, '1');

    await provider.revoke(mintedLease.handle, leaseId);

    await closed;
    expect(await userExists(mintedLease.credential.username)).toBe(false);
    await expect(session.get(`${KEYS}cache:b`)).rejects.toThrow();
    const { username, password } = mintedLease.credential;
    expect(await auth(username, password)).toMatch(/^WRONGPASS/);
    await expect(provider.revoke(mintedLease.handle, leaseId)).resolves.toBeUndefined();
  });

  it('revoke with an empty handle derives the user from the lease id', async () => {
    const leaseId = newLeaseId();
    const { credential } = await provider.mint(mintRequest(CACHE_SCOPE, leaseId));
    await provider.revoke({}, leaseId);
    expect(await userExists(credential.username)).toBe(false);
  });

  it('refuses a target that is the broker’s own lease store', () => {
    const spelled = [
      { host: 'localhost', port: PORT },
      { host: '127.0.0.1', port: PORT },
      { host: '::1', port: PORT },
    ];
    for (const own of spelled) {
      expect(() => create({}, [own])).toThrow(/lease store/);
    }
    expect(() => create({}, [{ host: HOST, port: PORT + 1 }])).not.toThrow();
  });

  it('refuses `all` and widening patterns by schema and within', () => {
    const ceiling = { keys: [`${KEYS}cache:*`], categories: ['read' as const, 'string' as const] };
    expect(provider.scope.safeParse({ keys: ['x'], categories: ['all'] }).success).toBe(false);
    expect(provider.scope.safeParse({ keys: ['~*'], categories: ['read'] }).success).toBe(false);
    for (const keys of [['*'], [`${KEYS}*`], [`${KEYS}cache*`], [`${KEYS}cache:*:x*`]]) {
      expect(provider.within({ keys, categories: ['read'] }, ceiling).ok).toBe(false);
    }
    expect(provider.within({ keys: [`${KEYS}cache:*`], categories: ['write'] }, ceiling).ok).toBe(
      false,
    );
    expect(provider.within({ keys: [`${KEYS}cache:u1:*`], categories: ['read'] }, ceiling)).toEqual(
      {
        ok: true,
      },
    );
  });

  it('removes the user from every node when one node fails', async () => {
    const split = create({
      nodes: [
        { host: HOST, port: PORT },
        { host: '127.0.0.1', port: 1 },
      ],
    });
    try {
      const leaseId = newLeaseId();
      const err = await rejection(split.mint(mintRequest(CACHE_SCOPE, leaseId)));
      expect(err).toBeInstanceOf(ProviderError);
      expect(err).toMatchObject({ code: 'provider_unavailable', retryable: true });
      expect(err.message).not.toContain(ADMIN_PASSWORD);
      expect(await userExists(`${PREFIX}${leaseId.slice(4)}`)).toBe(false);
      expect((await split.check()).ok).toBe(false);
    } finally {
      await split.close();
    }
  });

  it('sweeps orphaned users after the grace period and leaves live ones', async () => {
    const live = newLeaseId();
    await provider.mint(mintRequest(CACHE_SCOPE, live));
    const orphan = `${PREFIX}${newLeaseId().slice(4)}`;
    const notOurs = `${PREFIX}manual`;
    for (const user of [orphan, notOurs]) await root.call('ACL', 'SETUSER', user, 'on', 'nopass');
    const isLive = async (leaseId: string) => minted.has(leaseId);

    expect(await provider.sweep(isLive, 60_000)).toBe(0);
    expect(await userExists(orphan)).toBe(true);

    expect(await provider.sweep(isLive, 0)).toBe(1);
    expect(await userExists(orphan)).toBe(false);
    expect(await userExists(`${PREFIX}${live.slice(4)}`)).toBe(true);
    expect(await userExists(notOurs)).toBe(true);
  });

  it('renews nothing at the node and checks every node', async () => {
    const leaseId = newLeaseId();
    const req = mintRequest(CACHE_SCOPE, leaseId);
    const mintedLease = await provider.mint(req);
    expect(
      await provider.renew(mintedLease.handle, { ...req, expiresAt: Date.now() + 600_000 }),
    ).toEqual({});
    expect(await provider.check()).toEqual({ ok: true });
  });
});
