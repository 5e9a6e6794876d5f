import { randomBytes } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type MysqlCredential,
  type MysqlProvider,
  mysqlProviderFactory,
  NO_PROVIDER_EXPIRY,
} from '../../providers/mysql/index.js';
import { type MintRequest, ProviderError } from '../../providers/provider.js';
import { newLeaseId } from '../../src/lib/ids.js';
import {
  createBrokerAdmin,
  dropAccounts,
  loginMysql,
  mysqlAccountExists,
  mysqlAvailable,
} from '../helpers/mariadb.js';
import { MYSQL_URL, requireService } from '../helpers/services.js';

/*
 * Runs against the machine's MariaDB. The provider works through an admin account that holds
 * exactly the grants docs/providers/mysql.md lists, so the documented set is proven enough.
 */

const run = randomBytes(2).toString('hex');
/** Four characters: with the 28 of the lease id, names stay at MySQL's 32-character cap. */
const PREFIX = `j${run.slice(0, 2)}_`;
const DATABASE = `jt${run}_db`;
/** Differs from DATABASE only where `_` sits: a db-level grant must not reach it. */
const LOOKALIKE = `jt${run}Xdb`;
const ADMIN_USER = `jt${run}adm`;
const ADMIN_PASSWORD = randomBytes(18).toString('base64url');
const server = new URL(MYSQL_URL);
const HOST = server.hostname;
const PORT = Number(server.port || 3306);

let root: Connection | undefined;
let provider: MysqlProvider;
const opened: Connection[] = [];
/** Every lease this suite minted for: the sweeper must see them as live. */
const minted = new Set<string>();

function target(overrides: Record<string, unknown> = {}) {
  return {
    name: 'mysql-test',
    provider: 'mysql',
    admin_url: `mysql://${ADMIN_USER}:${ADMIN_PASSWORD}@${HOST}:${PORT}/`,
    flavor: 'mariadb',
    connect: { host: HOST, port: PORT, database: DATABASE },
    privilege_sets: {
      read: { grants: [`SELECT ON ${DATABASE}.*`] },
      write: { grants: [`INSERT, UPDATE ON ${DATABASE}.items`] },
      broken: { grants: [`SELECT ON ${DATABASE}.*`, `SELECT ON ${DATABASE}.no_such_table`] },
    },
    user_prefix: PREFIX,
    max_connections: 3,
    ...overrides,
  };
}

function create(overrides: Record<string, unknown> = {}): MysqlProvider {
  return mysqlProviderFactory.create(target(overrides), {
    brokerUrl: 'https://broker.test',
  }) as MysqlProvider;
}

function mintRequest(
  sets: string[],
  leaseId = newLeaseId(),
): MintRequest<{ privilege_sets: string[] }> {
  const now = Date.now();
  minted.add(leaseId);
  return {
    leaseId,
    workload: 'db-mcp',
    subject: 'system:serviceaccount:mcp:db-mcp',
    task: { id: 'task-1', intent: 'report' },
    scope: { privilege_sets: sets },
    issuedAt: now,
    expiresAt: now + 300_000,
  };
}

const login = (credential: MysqlCredential, password?: string) =>
  loginMysql(credential, opened, password);
const accountExists = (user: string) => mysqlAccountExists(root!, user);

async function errorOf(promise: Promise<unknown>): Promise<{ code?: string; message?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { code?: string; message?: string };
  }
  throw new Error('expected a rejection');
}

const available = await requireService('mariadb', await mysqlAvailable());

describe.skipIf(!available)('mysql provider (MariaDB)', () => {
  beforeAll(async () => {
    root = await mysql.createConnection({ uri: MYSQL_URL, multipleStatements: true });
    for (const db of [DATABASE, LOOKALIKE]) {
      await root.query(`CREATE DATABASE ${mysql.escapeId(db)}`);
      await root.query(
        `CREATE TABLE ${mysql.escapeId(db)}.items (id INT PRIMARY KEY, label VARCHAR(32))`,
      );
      await root.query(`INSERT INTO ${mysql.escapeId(db)}.items VALUES (1, 'one')`);
    }
    await createBrokerAdmin(
      root,
      { user: ADMIN_USER, password: ADMIN_PASSWORD },
      DATABASE,
      'SELECT, INSERT, UPDATE',
    );
    provider = create();
  });

  afterAll(async () => {
    for (const connection of opened) connection.destroy();
    await provider?.close();
    if (root === undefined) return;
    await dropAccounts(root, PREFIX, ADMIN_USER);
    for (const db of [DATABASE, LOOKALIKE]) {
      await root.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(db)}`);
    }
    await root.end();
  });

  it('mints a login that works with its password and not with another', async () => {
    const minted = await provider.mint(mintRequest(['read']));
    const { credential } = minted;
    expect(credential.username).toMatch(new RegExp(`^${PREFIX}[0-9a-z]{28}$`));
    expect(credential.username.length).toBeLessThanOrEqual(32);
    expect(Buffer.from(credential.password, 'base64url').length).toBeGreaterThanOrEqual(24);
    expect(credential).toMatchObject({ host: HOST, port: PORT, database: DATABASE });
    expect(minted.handle).toEqual({ user: credential.username, host: '%' });
    expect(minted.providerExpiresAt).toBe(NO_PROVIDER_EXPIRY);

    const session = await login(credential);
    const [rows] = await session.query<RowDataPacket[]>('SELECT label FROM items WHERE id = 1');
    expect(rows[0]?.label).toBe('one');

    const wrong = await errorOf(login(credential, `${credential.password}x`));
    expect(wrong.code).toBe('ER_ACCESS_DENIED_ERROR');
  });

  it('grants exactly the privilege sets: SELECT yes, INSERT no, lookalike db no', async () => {
    const { credential } = await provider.mint(mintRequest(['read']));
    const session = await login(credential);
    const insert = await errorOf(session.query("INSERT INTO items VALUES (2, 'two')"));
    expect(insert.code).toBe('ER_TABLEACCESS_DENIED_ERROR');
    // `_` in a db-level grant is a wildcard unless escaped.
    const lookalike = await errorOf(
      session.query(`SELECT label FROM ${mysql.escapeId(LOOKALIKE)}.items`),
    );
    expect(lookalike.code).toBe('ER_TABLEACCESS_DENIED_ERROR');
    const global = await errorOf(session.query('SELECT User FROM mysql.user'));
    expect(global.code).toBe('ER_TABLEACCESS_DENIED_ERROR');

    const writer = await provider.mint(mintRequest(['read', 'write']));
    const writes = await login(writer.credential);
    await writes.query("INSERT INTO items VALUES (3, 'three')");
    const del = await errorOf(writes.query('DELETE FROM items WHERE id = 3'));
    expect(del.code).toBe('ER_TABLEACCESS_DENIED_ERROR');
  });

  it('caps the login at max_connections', async () => {
    const { credential } = await provider.mint(mintRequest(['read']));
    for (let i = 0; i < 3; i += 1) await login(credential);
    const fourth = await errorOf(login(credential));
    // MariaDB's code; MySQL reports ER_TOO_MANY_USER_CONNECTIONS.
    expect(fourth.code).toBe('ER_USER_LIMIT_REACHED');
  });

  it('revoke drops the login and kills its open sessions', async () => {
    const leaseId = newLeaseId();
    const minted = await provider.mint(mintRequest(['read'], leaseId));
    const session = await login(minted.credential);
    await session.query('SELECT 1');

    await provider.revoke(minted.handle, leaseId);

    expect(await accountExists(minted.credential.username)).toBe(false);
    await expect(session.query('SELECT 1')).rejects.toThrow();
    const again = await errorOf(login(minted.credential));
    // MariaDB answers an unknown account with 1045 or, depending on the handshake, 1698.
    expect(again.code).toMatch(/^ER_ACCESS_DENIED(_NO_PASSWORD)?_ERROR$/);
    // Idempotent: gone already is success.
    await expect(provider.revoke(minted.handle, leaseId)).resolves.toBeUndefined();
  });

  it('revoke with an empty handle derives the account from the lease id', async () => {
    const leaseId = newLeaseId();
    const { credential } = await provider.mint(mintRequest(['read'], leaseId));
    const session = await login(credential);
    await provider.revoke({}, leaseId);
    expect(await accountExists(credential.username)).toBe(false);
    await expect(session.query('SELECT 1')).rejects.toThrow();
  });

  it('refuses SQL text and sets outside the ceiling before any SQL runs', async () => {
    const injected = { privilege_sets: ["read'; DROP DATABASE test; --"] };
    expect(provider.scope.safeParse(injected).success).toBe(false);
    expect(provider.scope.safeParse({ privilege_sets: ['SELECT ON *.*'] }).success).toBe(false);
    expect(
      provider.within({ privilege_sets: ['read', 'write'] }, { privilege_sets: ['read'] }),
    ).toEqual({
      ok: false,
      reason: 'privilege set "write" is not within the ceiling',
    });

    // An admin URL that reaches nothing: any SQL would fail as provider_unavailable.
    const offline = create({ admin_url: 'mysql://nobody:pw@127.0.0.1:1/' });
    try {
      for (const scope of [injected, { privilege_sets: ['missing'] }]) {
        const leaseId = newLeaseId();
        const err = await errorOf(offline.mint({ ...mintRequest([], leaseId), scope }));
        expect(err).toBeInstanceOf(ProviderError);
        expect(err.code).toBe('invalid_scope');
      }
    } finally {
      await offline.close();
    }
  });

  it('drops the account when a grant fails after CREATE USER', async () => {
    const leaseId = newLeaseId();
    const err = await errorOf(provider.mint(mintRequest(['broken'], leaseId)));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.code).toBe('provider_rejected');
    expect(err.message).not.toContain(ADMIN_PASSWORD);
    expect(await accountExists(`${PREFIX}${leaseId.slice(4)}`)).toBe(false);
  });

  it('sweeps orphaned accounts after the grace period and leaves live ones', async () => {
    const live = newLeaseId();
    await provider.mint(mintRequest(['read'], live));
    const isLive = async (leaseId: string) => minted.has(leaseId);
    const orphan = `${PREFIX}${newLeaseId().slice(4)}`;
    const notOurs = `${PREFIX}manual`;
    for (const user of [orphan, notOurs]) {
      await root!.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', 'x'.repeat(24)]);
    }

    // First sighting starts the grace period.
    expect(await provider.sweep(isLive, 60_000)).toBe(0);
    expect(await accountExists(orphan)).toBe(true);

    expect(await provider.sweep(isLive, 0)).toBe(1);
    expect(await accountExists(orphan)).toBe(false);
    expect(await accountExists(`${PREFIX}${live.slice(4)}`)).toBe(true);
    expect(await accountExists(notOurs)).toBe(true);
  });

  it('renews nothing at the server and checks the admin connection', async () => {
    const leaseId = newLeaseId();
    const req = mintRequest(['read'], leaseId);
    const minted = await provider.mint(req);
    expect(
      await provider.renew(minted.handle, { ...req, expiresAt: Date.now() + 600_000 }),
    ).toEqual({});
    expect(await provider.check()).toEqual({ ok: true });

    const offline = create({ admin_url: 'mysql://nobody:s3cret-admin-pw@127.0.0.1:1/' });
    try {
      const health = await offline.check();
      expect(health.ok).toBe(false);
      expect(health.detail).not.toContain('s3cret-admin-pw');
      const err = await errorOf(offline.mint(mintRequest(['read'])));
      expect(err).toMatchObject({ code: 'provider_unavailable', retryable: true });
    } finally {
      await offline.close();
    }
  });
});
