import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  leaseIdOfLoginRole,
  loginRoleFor,
  type PostgresProvider,
  postgresCeilingSchema,
  postgresProviderFactory,
  postgresScopeSchema,
  postgresTargetSchema,
  postgresWithin,
  scramSha256Verifier,
} from '../../../providers/postgres/index.js';
import { scrub, toProviderError } from '../../../providers/postgres/lib/errors.js';
import { scramKeys } from '../../../providers/postgres/lib/scram.js';
import { type MintRequest, ProviderError } from '../../../providers/provider.js';
import { newLeaseId } from '../../../src/lib/ids.js';

const ADMIN_PASSWORD = 'Adm1n-pa55-word-9c1e';
/** Nothing listens on port 1: a provider pointed there never gets to run SQL. */
const UNREACHABLE = `postgres://broker_admin:${ADMIN_PASSWORD}@127.0.0.1:1/appdb`;

function target(overrides: Record<string, unknown> = {}) {
  return {
    name: 'pg-app',
    provider: 'postgres',
    admin_url: UNREACHABLE,
    databases: ['appdb'],
    connect: { host: 'db.internal', database: 'appdb' },
    roles: { app_readonly: { access: 'read' }, app_readwrite: { access: 'write' } },
    reassign_to: 'broker_reclaimed',
    ...overrides,
  };
}

function create(overrides: Record<string, unknown> = {}): PostgresProvider {
  return postgresProviderFactory.create(target(overrides), {
    brokerUrl: 'https://broker.test',
  }) as PostgresProvider;
}

function mintRequest(scope: unknown, leaseId = newLeaseId()): MintRequest<{ roles: string[] }> {
  return {
    leaseId,
    workload: 'db-mcp',
    subject: 'sub',
    task: { id: 't', intent: 'report' },
    scope: scope as { roles: string[] },
    issuedAt: Date.now(),
    expiresAt: Date.now() + 60_000,
  };
}

describe('postgres target config', () => {
  it('fills the documented defaults', () => {
    const parsed = postgresTargetSchema.parse(target());
    expect(parsed).toMatchObject({
      role_prefix: 'jit_',
      revoke_concurrency: 8,
      connection_limit: 5,
      connect: { host: 'db.internal', port: 5432, database: 'appdb' },
    });
  });

  it.each([
    ['an unknown key', { extra: 1 }],
    ['a non-postgres admin_url', { admin_url: 'mysql://root@h/db' }],
    ['a built-in group role', { roles: { pg_read_server_files: { access: 'read' } } }],
    ['a group role carrying SQL', { roles: { 'x; drop table t': { access: 'read' } } }],
    ['no group roles', { roles: {} }],
    ['a connect database that revocation would not clean', { databases: ['other'] }],
    ['a prefix too long for the lease suffix', { role_prefix: 'p'.repeat(36) }],
    ['a built-in prefix', { role_prefix: 'pg_' }],
    ['reassign_to under the prefix', { reassign_to: 'jit_owner' }],
    ['reassign_to that is handed out', { reassign_to: 'app_readonly' }],
    ['a group role under the prefix', { roles: { jit_readers: { access: 'read' } } }],
    ['an admin role under the prefix', { admin_url: 'postgres://jit_admin:x@h/appdb' }],
    ['an unknown access level', { roles: { app_readonly: { access: 'admin' } } }],
  ])('refuses %s', (_label, overrides) => {
    expect(postgresTargetSchema.safeParse(target(overrides)).success).toBe(false);
  });

  it('accepts the longest prefix that keeps role names within 63 characters', () => {
    const prefix = 'p'.repeat(35);
    expect(postgresTargetSchema.safeParse(target({ role_prefix: prefix })).success).toBe(true);
    expect(loginRoleFor(prefix, newLeaseId())).toHaveLength(63);
  });

  it('the factory names the bad field without echoing the admin password', () => {
    expect(() => create({ databases: [] })).toThrow(TypeError);
    try {
      create({ connect: { host: 'h', database: 'appdb', port: 'x' } });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toContain('connect.port');
      expect((err as Error).message).not.toContain(ADMIN_PASSWORD);
    }
  });
});

describe('postgres scope', () => {
  it('accepts 1..8 distinct group role names', () => {
    expect(postgresScopeSchema.safeParse({ roles: ['app_readonly'] }).success).toBe(true);
    const eight = Array.from({ length: 8 }, (_, i) => `r${i}`);
    expect(postgresScopeSchema.safeParse({ roles: eight }).success).toBe(true);
  });

  it.each([
    ['SQL text', { roles: ['x; drop table'] }],
    ['a quote', { roles: ['app"readonly'] }],
    ['upper case', { roles: ['App'] }],
    ['a 64-character name', { roles: ['a'.repeat(64)] }],
    ['a built-in role', { roles: ['pg_execute_server_program'] }],
    ['no roles', { roles: [] }],
    ['nine roles', { roles: Array.from({ length: 9 }, (_, i) => `r${i}`) }],
    ['a duplicate', { roles: ['a', 'a'] }],
    ['an extra key', { roles: ['a'], database: 'x' }],
  ])('refuses %s', (_label, scope) => {
    expect(postgresScopeSchema.safeParse(scope).success).toBe(false);
  });

  it('ceiling entries are role names too', () => {
    expect(postgresCeilingSchema.safeParse({ roles: ['app_readonly'] }).success).toBe(true);
    expect(postgresCeilingSchema.safeParse({ roles: ['*'] }).success).toBe(false);
  });

  it('within needs every role in the ceiling and configured on the target', () => {
    const within = postgresWithin(new Set(['app_readonly', 'app_readwrite']));
    expect(within({ roles: ['app_readonly'] }, { roles: ['app_readonly', 'other'] })).toEqual({
      ok: true,
    });
    expect(
      within({ roles: ['app_readonly', 'app_readwrite'] }, { roles: ['app_readonly'] }),
    ).toEqual({
      ok: false,
      reason: 'role "app_readwrite" is not within the ceiling',
    });
    expect(within({ roles: ['other'] }, { roles: ['other'] })).toEqual({
      ok: false,
      reason: 'role "other" is not configured on the target',
    });
  });
});

describe('login role names', () => {
  it('derive from the lease id and map back to it', () => {
    const leaseId = newLeaseId();
    const role = loginRoleFor('jit_', leaseId);
    expect(role).toBe(`jit_${leaseId.slice(4)}`);
    expect(leaseIdOfLoginRole('jit_', role)).toBe(leaseId);
  });

  it('only names the broker makes map to a lease', () => {
    expect(leaseIdOfLoginRole('jit_', 'jit_admin')).toBeNull();
    expect(leaseIdOfLoginRole('jit_', 'app_readonly')).toBeNull();
    expect(leaseIdOfLoginRole('jit_', `jit_${'u'.repeat(28)}`)).toBeNull(); // not Crockford
    expect(() => loginRoleFor('jit_', 'lse_x; drop role postgres')).toThrow(TypeError);
  });
});

describe('SCRAM-SHA-256 verifier', () => {
  it('matches a verifier PostgreSQL 15 computed for the same password and salt', async () => {
    // From `CREATE ROLE … PASSWORD 'pencil'` with password_encryption = scram-sha-256.
    const fromServer =
      'SCRAM-SHA-256$4096:6YUGuTTzDS6ELlGGK1JXnA==$3gzdvxuqU6BYpp4bTXlVH1LgCEa0kbd4LA44lwUC/Nk=:UdRyRsNq8kBatWU9DFNCKu3FQqATsFDIXUhjxjc/sNY=';
    const salt = Buffer.from('6YUGuTTzDS6ELlGGK1JXnA==', 'base64');
    expect(await scramSha256Verifier('pencil', salt)).toBe(fromServer);
  });

  it('lets a server check the RFC 7677 §3 client proof and produce its server signature', async () => {
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const verifier = await scramSha256Verifier('pencil', salt);
    const [, storedB64, serverB64] = /\$([^:$]+):([^:$]+)$/.exec(verifier) ?? [];
    const storedKey = Buffer.from(storedB64 ?? '', 'base64');
    const serverKey = Buffer.from(serverB64 ?? '', 'base64');
    const nonce = 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    const authMessage = [
      'n=user,r=rOprNGfwEbeRWgbNEkqO',
      `r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`,
      `c=biws,r=${nonce}`,
    ].join(',');
    const proof = Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64');
    // RFC 5802 §3: ClientKey = proof XOR HMAC(StoredKey, AuthMessage); H(ClientKey) = StoredKey.
    const clientSignature = createHmac('sha256', storedKey).update(authMessage).digest();
    const clientKey = Buffer.from(proof.map((byte, i) => byte ^ (clientSignature[i] ?? 0)));
    expect(createHash('sha256').update(clientKey).digest().equals(storedKey)).toBe(true);
    expect(createHmac('sha256', serverKey).update(authMessage).digest('base64')).toBe(
      '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
    );
  });

  it('uses a fresh 16-byte salt and 4096 iterations', async () => {
    const a = await scramSha256Verifier('same-password');
    const b = await scramSha256Verifier('same-password');
    expect(a).not.toBe(b);
    expect(a).toMatch(
      /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/,
    );
    expect(a).not.toContain('same-password');
  });

  it('refuses passwords that would need SASLprep', async () => {
    await expect(scramSha256Verifier('pässword')).rejects.toThrow(TypeError);
    await expect(scramSha256Verifier('')).rejects.toThrow(TypeError);
    expect(scramKeys('x', Buffer.alloc(16), 1).storedKey).toHaveLength(32);
  });

  it('derives off the event loop the same keys as the in-place derivation', async () => {
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const { storedKey, serverKey } = scramKeys('pencil', salt, 4096);
    expect(await scramSha256Verifier('pencil', salt)).toBe(
      `SCRAM-SHA-256$4096:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`,
    );
  });
});

describe('postgres errors', () => {
  it('scrub removes handled secrets, verifiers and URL passwords', () => {
    const text = scrub(
      "bad: PASSWORD 'SCRAM-SHA-256$4096:abc=$def:ghi' at postgres://admin:hunter22@db/x, pw s3cretvalue",
      ['s3cretvalue'],
    );
    expect(text).not.toContain('hunter22');
    expect(text).not.toContain('def:ghi');
    expect(text).not.toContain('s3cretvalue');
    expect(text).toContain('postgres://admin:[redacted]@db/x');
  });

  it.each([
    [{ code: '08006', message: 'connection failure' }, 'provider_unavailable', true],
    [
      { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' },
      'provider_unavailable',
      true,
    ],
    [{ code: '40P01', message: 'deadlock detected' }, 'provider_unavailable', true],
    [{ code: '28P01', message: 'password authentication failed' }, 'provider_misconfigured', false],
    [{ code: '42501', message: 'permission denied' }, 'provider_misconfigured', false],
    [{ code: '2BP01', message: 'role cannot be dropped' }, 'provider_rejected', false],
  ])('maps %o to %s', (err, code, retryable) => {
    expect(toProviderError('pg-app', 'step', err, [])).toMatchObject({ code, retryable });
  });
});

describe('postgres provider without a reachable server', () => {
  it('refuses a scope before connecting', async () => {
    const provider = create();
    await expect(provider.mint(mintRequest({ roles: ['x; drop table t'] }))).rejects.toMatchObject({
      code: 'invalid_scope',
    });
    await expect(provider.mint(mintRequest({ roles: ['app_owner'] }))).rejects.toMatchObject({
      code: 'invalid_scope',
    });
    await provider.close();
  });

  it('refuses a handle that names a role of another lease', async () => {
    const provider = create();
    const other = loginRoleFor('jit_', newLeaseId());
    await expect(provider.revoke({ role: other }, newLeaseId())).rejects.toMatchObject({
      code: 'provider_rejected',
    });
    await expect(provider.revoke({ role: 'postgres' }, newLeaseId())).rejects.toMatchObject({
      code: 'provider_rejected',
    });
    await expect(provider.revoke({}, 'not-a-lease')).rejects.toMatchObject({
      code: 'provider_rejected',
    });
    await provider.close();
  });

  it('reports the server as unavailable (retryable) without leaking the admin password', async () => {
    const provider = create();
    const health = await provider.check();
    expect(health.ok).toBe(false);
    expect(health.detail).not.toContain(ADMIN_PASSWORD);
    const err = await provider
      .mint(mintRequest({ roles: ['app_readonly'] }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ code: 'provider_unavailable', retryable: true });
    expect((err as Error).message).not.toContain(ADMIN_PASSWORD);
    const revoked = await provider.revoke({}, newLeaseId()).catch((e: unknown) => e);
    expect(revoked).toMatchObject({ code: 'provider_unavailable', retryable: true });
    await provider.close();
  });
});

describe('postgres tier cap', () => {
  it('keeps write-capable group roles from read-tier workloads', async () => {
    const provider = create();
    expect(provider.tierAllows?.({ roles: ['app_readonly'] }, 'read')).toEqual({ ok: true });
    expect(
      provider.tierAllows?.({ roles: ['app_readonly', 'app_readwrite'] }, 'read'),
    ).toMatchObject({ ok: false });
    expect(provider.tierAllows?.({ roles: ['app_readwrite'] }, 'write')).toEqual({ ok: true });
    await provider.close?.();
  });
});
