import { describe, expect, it } from 'vitest';
import { OrphanClock } from '../../../providers/lib/orphan-clock.js';
import {
  grantStatement,
  leaseIdOfUser,
  mysqlCeilingSchema,
  mysqlProviderFactory,
  mysqlScopeSchema,
  mysqlTargetSchema,
  mysqlWithin,
  nativePasswordHash,
  parseGrant,
  userNameFor,
} from '../../../providers/mysql/index.js';
import { mysqlFailure, urlSecrets } from '../../../providers/mysql/lib/errors.js';
import { ProviderError } from '../../../providers/provider.js';
import { newLeaseId } from '../../../src/lib/ids.js';
import { scrubSecrets } from '../../../src/lib/scrub-secrets.js';

function target(overrides: Record<string, unknown> = {}) {
  return {
    name: 'mysql-app',
    provider: 'mysql',
    admin_url: 'mysql://broker:admin-secret-pw@db.internal:3306/',
    connect: { host: 'db.internal', database: 'app' },
    privilege_sets: {
      read: { grants: ['SELECT ON app.*'] },
      write: { grants: ['INSERT, UPDATE ON app.orders'] },
    },
    ...overrides,
  };
}

describe('mysql grant text', () => {
  it('accepts allowlisted privileges on one database and one table or *', () => {
    expect(parseGrant('SELECT ON app.*')).toEqual({
      ok: true,
      grant: { privileges: ['SELECT'], database: 'app', table: '*' },
    });
    expect(parseGrant('select,  insert , show   view ON app_1.orders')).toEqual({
      ok: true,
      grant: { privileges: ['SELECT', 'INSERT', 'SHOW VIEW'], database: 'app_1', table: 'orders' },
    });
    expect(parseGrant('CREATE TEMPORARY TABLES, EXECUTE ON app.*').ok).toBe(true);
  });

  it.each([
    ['SQL after the grant', 'SELECT ON app.*; DROP DATABASE app'],
    ['a TO clause', "SELECT ON app.* TO 'x'@'%'"],
    ['WITH GRANT OPTION', 'SELECT ON app.* WITH GRANT OPTION'],
    ['ALL', 'ALL ON app.*'],
    ['ALL PRIVILEGES', 'ALL PRIVILEGES ON app.*'],
    ['GRANT OPTION', 'GRANT OPTION ON app.*'],
    ['a global privilege', 'SUPER ON app.*'],
    ['FILE', 'FILE ON app.*'],
    ['every database', 'SELECT ON *.*'],
    ['the mysql schema', 'SELECT ON mysql.user'],
    ['information_schema', 'SELECT ON INFORMATION_SCHEMA.*'],
    ['quoted identifiers', 'SELECT ON `app`.*'],
    ['a column list', 'SELECT (id) ON app.orders'],
    ['a wildcard in a name', 'SELECT ON app%.*'],
    ['a routine-level privilege on a table', 'EXECUTE ON app.orders'],
    ['an empty privilege list', ' ON app.*'],
  ])('refuses %s', (_, text) => {
    expect(parseGrant(text).ok).toBe(false);
  });

  it('escapes `_` in database-level grants only, and the account through placeholders', () => {
    const account = { user: 'jit_abc', host: '%' };
    const dbLevel = { privileges: ['SELECT' as const], database: 'app_db', table: '*' };
    expect(grantStatement(dbLevel, account, true)).toBe(
      "GRANT SELECT ON `app\\_db`.* TO 'jit_abc'@'%'",
    );
    expect(grantStatement(dbLevel, account, false)).toBe(
      "GRANT SELECT ON `app_db`.* TO 'jit_abc'@'%'",
    );
    const tableLevel = {
      privileges: ['SELECT' as const, 'INSERT' as const],
      database: 'app_db',
      table: 'orders',
    };
    expect(grantStatement(tableLevel, account, true)).toBe(
      "GRANT SELECT, INSERT ON `app_db`.`orders` TO 'jit_abc'@'%'",
    );
    expect(grantStatement(dbLevel, { user: "x'--", host: '%' }, true)).toBe(
      "GRANT SELECT ON `app\\_db`.* TO 'x\\'--'@'%'",
    );
  });
});

describe('mysql target config', () => {
  it('applies the defaults', () => {
    const parsed = mysqlTargetSchema.parse(target());
    expect(parsed).toMatchObject({
      flavor: 'mariadb',
      user_prefix: 'jit_',
      user_host: '%',
      revoke_concurrency: 8,
      max_connections: 5,
      connect: { host: 'db.internal', port: 3306, database: 'app' },
    });
  });

  it.each([
    ['a prefix that would push names past 32 characters', { user_prefix: 'jitb_' }],
    ['a prefix with a quote', { user_prefix: "j'" }],
    ['a host with a quote', { user_host: "%'" }],
    ['a non-mysql admin URL', { admin_url: 'postgres://x@y/' }],
    ['a privilege set with a bad grant', { privilege_sets: { read: { grants: ['ALL ON *.*'] } } }],
    [
      'a privilege set name with spaces',
      { privilege_sets: { 'r w': { grants: ['SELECT ON a.*'] } } },
    ],
    ['no privilege sets', { privilege_sets: {} }],
    ['an unknown field', { superuser: true }],
  ])('refuses %s', (_, overrides) => {
    expect(mysqlTargetSchema.safeParse(target(overrides)).success).toBe(false);
  });

  it('factory errors name the field but never the admin URL', () => {
    const bad = target({ admin_url: 'postgres://broker:admin-secret-pw@db/' });
    expect(() => mysqlProviderFactory.create(bad, { brokerUrl: 'https://b' })).toThrow(
      /mysql target "mysql-app": admin_url/,
    );
    try {
      mysqlProviderFactory.create(bad, { brokerUrl: 'https://b' });
    } catch (err) {
      expect((err as Error).message).not.toContain('admin-secret-pw');
    }
  });
});

describe('mysql account names', () => {
  it('derives a 32-character name from the lease id and maps it back', () => {
    const leaseId = newLeaseId();
    const user = userNameFor('jit_', leaseId);
    expect(user).toBe(`jit_${leaseId.slice(4)}`);
    expect(user.length).toBe(32);
    expect(leaseIdOfUser('jit_', user)).toBe(leaseId);
  });

  it('maps back only names of its own prefix and shape', () => {
    const leaseId = newLeaseId();
    expect(leaseIdOfUser('jit_', `jot_${leaseId.slice(4)}`)).toBeUndefined();
    expect(leaseIdOfUser('jit_', 'jit_manual')).toBeUndefined();
    expect(leaseIdOfUser('jit_', `jit_${leaseId.slice(4)}x`)).toBeUndefined();
    // `_` in the prefix is literal, not a wildcard.
    expect(leaseIdOfUser('jit_', `jitX${leaseId.slice(4)}`)).toBeUndefined();
  });

  it('refuses lease ids that are not broker lease ids', () => {
    expect(() => userNameFor('jit_', "lse_'; DROP USER root; --")).toThrow(ProviderError);
    expect(() => userNameFor('jit_', 'lse_short')).toThrow(ProviderError);
  });

  it('hashes passwords as MariaDB PASSWORD() does', () => {
    // SELECT PASSWORD('password') on MariaDB.
    expect(nativePasswordHash('password')).toBe('*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19');
  });
});

describe('mysql scope', () => {
  const within = mysqlWithin(new Set(['read', 'write']));

  it('accepts configured sets within the ceiling', () => {
    expect(within({ privilege_sets: ['read'] }, { privilege_sets: ['read', 'write'] })).toEqual({
      ok: true,
    });
  });

  it('refuses sets outside the ceiling or not configured', () => {
    expect(within({ privilege_sets: ['write'] }, { privilege_sets: ['read'] })).toEqual({
      ok: false,
      reason: 'privilege set "write" is not within the ceiling',
    });
    expect(within({ privilege_sets: ['admin'] }, { privilege_sets: ['admin'] })).toEqual({
      ok: false,
      reason: 'privilege set "admin" is not configured on the target',
    });
  });

  it('refuses SQL text, empty and duplicate lists by schema', () => {
    for (const scope of [
      { privilege_sets: ['SELECT ON *.*'] },
      { privilege_sets: ["read' OR 1=1"] },
      { privilege_sets: [] },
      { privilege_sets: ['read', 'read'] },
      { privilege_sets: ['read'], grants: ['SELECT ON *.*'] },
    ]) {
      expect(mysqlScopeSchema.safeParse(scope).success).toBe(false);
      expect(mysqlCeilingSchema.safeParse(scope).success).toBe(false);
    }
  });

  it('mint refuses a scope the schema refuses, before reaching the server', async () => {
    const provider = mysqlProviderFactory.create(
      target({ admin_url: 'mysql://x:y@127.0.0.1:1/' }),
      { brokerUrl: 'https://b' },
    );
    const now = Date.now();
    await expect(
      provider.mint({
        leaseId: newLeaseId(),
        workload: 'w',
        subject: 's',
        task: { id: 't', intent: 'i' },
        scope: { privilege_sets: ['SELECT ON *.*'] },
        issuedAt: now,
        expiresAt: now + 60_000,
      }),
    ).rejects.toMatchObject({ code: 'invalid_scope' });
    await provider.close?.();
  });
});

describe('mysql revocation handles', () => {
  it('names only the account of its own lease, before reaching the server', async () => {
    const provider = mysqlProviderFactory.create(
      target({ admin_url: 'mysql://x:y@127.0.0.1:1/' }),
      { brokerUrl: 'https://b' },
    );
    const leaseId = newLeaseId();
    const other = newLeaseId();
    for (const handle of [
      { user: 'root' },
      { user: `jit_${other.slice(4)}` },
      { user: `jit_${leaseId.slice(4)}`, host: "%' OR 1" },
      { user: 42 },
    ]) {
      await expect(provider.revoke(handle, leaseId)).rejects.toMatchObject({
        code: 'provider_rejected',
      });
    }
    await expect(provider.revoke({}, 'lse_not-a-lease')).rejects.toMatchObject({
      code: 'provider_rejected',
    });
    // A handle minted under an earlier prefix still names its own account.
    await expect(
      provider.revoke({ user: `old_${leaseId.slice(4)}` }, leaseId),
    ).rejects.toMatchObject({
      code: 'provider_unavailable',
    });
    await provider.close?.();
  });
});

describe('mysql errors', () => {
  const secrets = ['pw-in-url', 'minted-password-value'];

  it('classifies connection failures as retryable', () => {
    const err = mysqlFailure(
      't',
      'GRANT',
      { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' },
      [],
    );
    expect(err).toMatchObject({ code: 'provider_unavailable', retryable: true });
    const lost = mysqlFailure('t', 'GRANT', { code: 'ER_X', fatal: true, message: 'gone' }, []);
    expect(lost).toMatchObject({ code: 'provider_unavailable', retryable: true });
  });

  it('classifies refusals and missing admin rights as final', () => {
    expect(
      mysqlFailure('t', 'GRANT', { code: 'ER_NO_SUCH_TABLE', sqlMessage: 'no' }, []),
    ).toMatchObject({
      code: 'provider_rejected',
      retryable: false,
    });
    expect(
      mysqlFailure('t', 'KILL', { code: 'ER_KILL_DENIED_ERROR', sqlMessage: 'not owner' }, []),
    ).toMatchObject({ code: 'provider_misconfigured', retryable: false });
  });

  it('scrubs every secret from the message', () => {
    const err = mysqlFailure(
      't',
      'CREATE USER',
      {
        code: 'ER_PARSE_ERROR',
        sqlMessage: "near 'minted-password-value' WITH at line 1",
        sql: "CREATE USER 'x'@'%' IDENTIFIED BY 'minted-password-value'",
      },
      secrets,
    );
    expect(err.message).not.toContain('minted-password-value');
    expect(err.message).toContain('[redacted]');
    expect(err.cause).toBeUndefined();
    expect(scrubSecrets('a pw-in-url b', secrets)).toBe('a [redacted] b');
  });

  it('finds the password in an admin URL, encoded and decoded', () => {
    expect(urlSecrets('mysql://u:p%40ss-word@h/')).toEqual([
      'mysql://u:p%40ss-word@h/',
      'p%40ss-word',
      'p@ss-word',
    ]);
  });
});

describe('mysql sweep grace', () => {
  it('removes an orphan only after it was seen orphaned for the grace period', () => {
    const clock = new OrphanClock();
    expect(clock.due('a', 1_000, 500)).toBe(false);
    expect(clock.due('a', 1_400, 500)).toBe(false);
    expect(clock.due('a', 1_500, 500)).toBe(true);
    expect(new OrphanClock().due('b', 1_000, 0)).toBe(true);
  });

  it('restarts the grace period for an account that was live in between', () => {
    const clock = new OrphanClock();
    clock.due('a', 1_000, 500);
    clock.keepOnly(new Set());
    expect(clock.due('a', 1_600, 500)).toBe(false);
  });
});
