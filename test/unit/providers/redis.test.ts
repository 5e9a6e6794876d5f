import { createHash } from 'node:crypto';
import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../../providers/provider.js';
import {
  ALWAYS_DENIED,
  aclRules,
  canonicalHost,
  leaseIdOfUser,
  passwordHashRule,
  redisCeilingSchema,
  redisProviderFactory,
  redisScopeSchema,
  redisTargetSchema,
  redisWithin,
  sameEndpoint,
  userNameFor,
} from '../../../providers/redis/index.js';
import { redisFailure } from '../../../providers/redis/lib/errors.js';
import { newLeaseId } from '../../../src/lib/ids.js';

function target(overrides: Record<string, unknown> = {}) {
  return {
    name: 'redis-cache',
    provider: 'redis',
    nodes: [{ host: 'cache.internal', port: 6379 }],
    connect: { host: 'cache.internal', port: 6379 },
    admin_password: 'admin-secret-pw',
    ...overrides,
  };
}

describe('redis target config', () => {
  it('applies the defaults', () => {
    expect(redisTargetSchema.parse(target())).toMatchObject({
      user_prefix: 'jit_',
      revoke_concurrency: 16,
      nodes: [{ host: 'cache.internal', port: 6379, tls: false }],
    });
  });

  it.each([
    ['no nodes', { nodes: [] }],
    ['a prefix with a space', { user_prefix: 'jit x' }],
    ['an admin user with a space', { admin_username: 'a b' }],
    ['an unknown field', { allow_all: true }],
  ])('refuses %s', (_, overrides) => {
    expect(redisTargetSchema.safeParse(target(overrides)).success).toBe(false);
  });

  it('factory errors never carry the admin password', () => {
    const bad = target({ nodes: 'cache.internal' });
    try {
      redisProviderFactory.create(bad, { brokerUrl: 'https://b' });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toMatch(/redis target "redis-cache": nodes/);
      expect((err as Error).message).not.toContain('admin-secret-pw');
    }
  });
});

describe('redis target is never the lease store', () => {
  it.each([
    ['localhost', '127.0.0.1'],
    ['LOCALHOST.', '::1'],
    ['[::1]', '127.0.0.1'],
    ['127.0.0.2', '0:0:0:0:0:0:0:1'],
    ['::ffff:127.0.0.1', 'localhost'],
    ['Redis.Internal', 'redis.internal'],
  ])('treats %s and %s as one host', (a, b) => {
    expect(canonicalHost(a)).toBe(canonicalHost(b));
    expect(sameEndpoint({ host: a, port: 6379 }, { host: b, port: 6379 })).toBe(true);
  });

  it('tells different hosts and ports apart', () => {
    expect(sameEndpoint({ host: 'localhost', port: 6379 }, { host: 'localhost', port: 6380 })).toBe(
      false,
    );
    expect(
      sameEndpoint({ host: 'a.internal', port: 6379 }, { host: 'b.internal', port: 6379 }),
    ).toBe(false);
    expect(canonicalHost('::2')).not.toBe(canonicalHost('::1'));
  });

  it('refuses a node or the connect endpoint that is the lease store', () => {
    const ownRedis = [{ host: '127.0.0.1', port: 6379 }];
    const create = (overrides: Record<string, unknown>) =>
      redisProviderFactory.create(target(overrides), {
        brokerUrl: 'https://b',
        ownRedis: () => ownRedis,
      });
    expect(() =>
      create({
        nodes: [
          { host: 'cache.internal', port: 6379 },
          { host: 'localhost', port: 6379 },
        ],
      }),
    ).toThrow(/broker's own lease store/);
    expect(() => create({ connect: { host: '::1', port: 6379 } })).toThrow(/lease store/);
    const fine = create({ nodes: [{ host: 'localhost', port: 6380 }] });
    expect(fine.target).toBe('redis-cache');
    return fine.close?.();
  });
});

describe('redis scope', () => {
  const ceiling = {
    keys: ['cache:*', 'session:abc'],
    categories: ['read' as const, 'string' as const],
    channels: ['events:*'],
  };

  it.each([
    ['the ceiling pattern itself', ['cache:*']],
    ['a narrower prefix', ['cache:user:*']],
    ['a literal key under the prefix', ['cache:user:1']],
    ['an exact literal', ['session:abc']],
  ])('allows %s', (_, keys) => {
    expect(redisWithin({ keys, categories: ['read'] }, ceiling)).toEqual({ ok: true });
  });

  it.each([
    ['every key', ['*']],
    ['a shorter prefix', ['cache*']],
    ['a star before the end', ['cache:*:x']],
    ['a star in the middle of a narrowing', ['cache:a*b']],
    ['another namespace', ['sessions:*']],
    ['a prefix of a literal', ['session:*']],
  ])('refuses %s', (_, keys) => {
    expect(redisWithin({ keys, categories: ['read'] }, ceiling).ok).toBe(false);
  });

  it('refuses categories and channels beyond the ceiling', () => {
    expect(redisWithin({ keys: ['cache:a'], categories: ['write'] }, ceiling)).toEqual({
      ok: false,
      reason: 'category "write" is not within the ceiling',
    });
    expect(
      redisWithin({ keys: ['cache:a'], categories: ['read'], channels: ['other:*'] }, ceiling).ok,
    ).toBe(false);
    expect(
      redisWithin(
        { keys: ['cache:a'], categories: ['read'], channels: ['events:x'] },
        { keys: ['cache:*'], categories: ['read'] },
      ).ok,
    ).toBe(false);
    expect(
      redisWithin({ keys: ['cache:a'], categories: ['read'], channels: ['events:x'] }, ceiling),
    ).toEqual({ ok: true });
  });

  it.each([
    ['the all category', { keys: ['a'], categories: ['all'] }],
    ['the admin category', { keys: ['a'], categories: ['admin'] }],
    ['the dangerous category', { keys: ['a'], categories: ['dangerous'] }],
    ['the scripting category', { keys: ['a'], categories: ['scripting'] }],
    ['a category with its @', { keys: ['a'], categories: ['@read'] }],
    ['a leading ~', { keys: ['~*'], categories: ['read'] }],
    ['a read-only selector', { keys: ['%R~*'], categories: ['read'] }],
    ['a second rule in one pattern', { keys: ['a +@all'], categories: ['read'] }],
    ['allkeys', { keys: ['allkeys'], categories: ['read'], extra: 1 }],
    ['glob classes', { keys: ['cache:[a-z]'], categories: ['read'] }],
    ['a channel rule', { keys: ['a'], categories: ['read'], channels: ['&*'] }],
    ['no keys', { keys: [], categories: ['read'] }],
    ['no categories', { keys: ['a'], categories: [] }],
  ])('schema refuses %s', (_, scope) => {
    expect(redisScopeSchema.safeParse(scope).success).toBe(false);
    expect(redisCeilingSchema.safeParse(scope).success).toBe(false);
  });
});

describe('redis ACL rules', () => {
  it('starts from reset, grants the scope, then takes the dangerous commands away', () => {
    const rules = aclRules(
      { keys: ['cache:*'], categories: ['read', 'write'], channels: ['events:*'] },
      passwordHashRule('pw'),
    );
    expect(rules).toEqual([
      'reset',
      'resetkeys',
      'resetchannels',
      'nocommands',
      '~cache:*',
      '&events:*',
      '+@read',
      '+@write',
      ...ALWAYS_DENIED,
      `#${createHash('sha256').update('pw').digest('hex')}`,
      'on',
    ]);
    expect(ALWAYS_DENIED).toEqual(
      expect.arrayContaining(['-@dangerous', '-@admin', '-@scripting', '-scan', '-randomkey']),
    );
    expect(rules.some((rule) => rule.startsWith('>'))).toBe(false);
  });

  it('derives user names from lease ids and maps them back', () => {
    const leaseId = newLeaseId();
    const user = userNameFor('jit_', leaseId);
    expect(user).toBe(`jit_${leaseId.slice(4)}`);
    expect(leaseIdOfUser('jit_', user)).toBe(leaseId);
    expect(leaseIdOfUser('jit_', 'jit_manual')).toBeUndefined();
    expect(leaseIdOfUser('jit_', `jitX${leaseId.slice(4)}`)).toBeUndefined();
    expect(() => userNameFor('jit_', 'lse_x on +@all')).toThrow(ProviderError);
  });
});

describe('redis revocation handles', () => {
  it('names only the user of its own lease, before reaching a node', async () => {
    const provider = redisProviderFactory.create(
      target({ nodes: [{ host: '127.0.0.1', port: 1 }] }),
      { brokerUrl: 'https://b' },
    );
    const leaseId = newLeaseId();
    for (const handle of [
      { user: 'default' },
      { user: `jit_${newLeaseId().slice(4)}` },
      { user: `jit x${leaseId.slice(4)}` },
      { user: ['jit_'] },
    ]) {
      await expect(provider.revoke(handle, leaseId)).rejects.toMatchObject({
        code: 'provider_rejected',
      });
    }
    await provider.close?.();
  });
});

describe('redis errors', () => {
  const secrets = ['admin-secret-pw', 'minted-pw-value'];

  it('maps node replies to final errors and everything else to retryable ones', () => {
    expect(
      redisFailure('t', 'n:1', 'ACL SETUSER', new ReplyError('ERR Error in ACL SETUSER'), []),
    ).toMatchObject({
      code: 'provider_rejected',
      retryable: false,
    });
    expect(
      redisFailure(
        't',
        'n:1',
        'ACL SETUSER',
        new ReplyError("NOPERM this user has no permissions to run the 'acl|setuser' command"),
        [],
      ),
    ).toMatchObject({ code: 'provider_misconfigured', retryable: false });
    expect(
      redisFailure('t', 'n:1', 'ACL DELUSER', new Error('connect ECONNREFUSED'), []),
    ).toMatchObject({
      code: 'provider_unavailable',
      retryable: true,
    });
  });

  it('scrubs secrets from messages', () => {
    const err = redisFailure(
      't',
      'n:1',
      'ACL SETUSER',
      new ReplyError("ERR Error in ACL SETUSER modifier 'minted-pw-value': Syntax error"),
      secrets,
    );
    expect(err.message).not.toContain('minted-pw-value');
    expect(err.message).toContain('[redacted]');
  });
});
