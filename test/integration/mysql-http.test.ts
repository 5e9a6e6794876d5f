import { randomBytes } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MysqlCredential } from '../../providers/mysql/index.js';
import {
  type AccountProbe,
  expectKillSwitchSparesBystander,
  expectNothingLeft,
  expectReaperEndsAccess,
  expectRevokeEndsAccess,
  startTargetBroker,
  type TargetBroker,
} from '../helpers/account-drills.js';
import type { Harness } from '../helpers/broker-harness.js';
import { issueCredential, refusedCredential, revokeLease } from '../helpers/lease-http.js';
import {
  createBrokerAdmin,
  dropAccounts,
  loginMysql,
  mysqlAccountExists,
  mysqlAvailable,
} from '../helpers/mariadb.js';
import { MYSQL_URL, redisAvailable, requireService } from '../helpers/services.js';

/*
 * The mysql provider end to end through the broker's HTTP API, against the machine's MariaDB.
 * The broker's admin account holds exactly the MariaDB grants of docs/providers/mysql.md; the
 * lease store is the machine's Redis.
 */

const run = randomBytes(2).toString('hex');
/** Four characters: with the 28 of the lease id, names stay at MySQL's 32-character cap. */
const PREFIX = `j${run.slice(0, 2)}_`;
const DATABASE = `jt${run}_hdb`;
const ADMIN_USER = `jt${run}hadm`;
const ADMIN_PASSWORD = randomBytes(18).toString('base64url');
const server = new URL(MYSQL_URL);
/**
 * MariaDB answers a login for an account that does not exist with either access-denied code
 * ("using password: NO" when its fake authentication switched plugins), at random.
 */
const ACCESS_DENIED = /^ER_ACCESS_DENIED_(NO_PASSWORD_)?ERROR$/;
const HOST = server.hostname;
const PORT = Number(server.port || 3306);

const available =
  (await requireService('mariadb', await mysqlAvailable())) &&
  (await requireService('redis', await redisAvailable()));

const request = (sets: string[], extra: Record<string, unknown> = {}) => ({
  target: 'mysql-app',
  scope: { privilege_sets: sets },
  task: { id: `my-${randomBytes(3).toString('hex')}`, intent: 'report', tool: 'run_query' },
  ...extra,
});

describe.skipIf(!available)('mysql credentials over the HTTP API (MariaDB)', () => {
  let root: Connection;
  let broker: TargetBroker;
  let h: Harness;
  let agentA: string;
  const secrets: string[] = [ADMIN_PASSWORD];
  const opened: Connection[] = [];

  const login = (credential: MysqlCredential, password?: string) =>
    loginMysql(credential, opened, password);

  /** The error code a fresh login fails with, or `null` when it succeeds. */
  async function loginFailure(credential: MysqlCredential, password = credential.password) {
    try {
      const connection = await login(credential, password);
      await connection.end();
      return null;
    } catch (err) {
      return (err as { code?: string }).code ?? 'no code';
    }
  }

  async function alive(connection: Connection): Promise<boolean> {
    try {
      await connection.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  const accountExists = (user: string) => mysqlAccountExists(root, user);

  const accounts: AccountProbe<MysqlCredential, Connection> = {
    login,
    alive,
    close: (session) => session.end(),
    exists: accountExists,
    loginFailure,
    refused: ACCESS_DENIED,
  };

  async function prefixedAccounts(): Promise<number> {
    const [rows] = await root.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM mysql.user WHERE LEFT(User, ?) = ?',
      [PREFIX.length, PREFIX],
    );
    return Number(rows[0]?.n);
  }

  beforeAll(async () => {
    root = await mysql.createConnection({ uri: MYSQL_URL });
    const db = mysql.escapeId(DATABASE);
    await root.query(`CREATE DATABASE ${db}`);
    await root.query(`CREATE TABLE ${db}.items (id INT PRIMARY KEY, label VARCHAR(32))`);
    await root.query(`INSERT INTO ${db}.items VALUES (1, 'one')`);
    await root.query(`CREATE TABLE ${db}.x (id INT)`);
    await createBrokerAdmin(
      root,
      { user: ADMIN_USER, password: ADMIN_PASSWORD },
      DATABASE,
      'SELECT, INSERT, UPDATE, DELETE',
    );

    broker = await startTargetBroker({
      store: 'redis',
      target: {
        name: 'mysql-app',
        provider: 'mysql',
        admin_url: `mysql://${ADMIN_USER}:${ADMIN_PASSWORD}@${HOST}:${PORT}/`,
        flavor: 'mariadb',
        connect: { host: HOST, port: PORT, database: DATABASE },
        privilege_sets: {
          read: { grants: [`SELECT ON ${DATABASE}.*`] },
          write: {
            grants: [`SELECT ON ${DATABASE}.*`, `INSERT, UPDATE, DELETE ON ${DATABASE}.items`],
          },
          // Configured on the target, but no policy hands it out.
          audit: { grants: [`SELECT ON ${DATABASE}.items`] },
        },
        user_prefix: PREFIX,
      },
      policy: {
        name: 'agents-query-app',
        workloads: ['agent-a', 'agent-b'],
        target: 'mysql-app',
        allow: { privilege_sets: ['read', 'write'] },
        intents: ['report'],
        default_ttl: '5m',
        max_ttl: '15m',
      },
    });
    ({ h, agentA } = broker);
  });

  afterAll(async () => {
    for (const connection of opened) connection.destroy();
    await h?.close();
    if (root === undefined) return;
    await dropAccounts(root, PREFIX, ADMIN_USER);
    await root.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(DATABASE)}`);
    await root.end();
  });

  it('mints a login that connects with its password, not a wrong one, and reads but cannot write', async () => {
    const issued = await issueCredential<MysqlCredential>(h, agentA, request(['read']), secrets);
    const { credential } = issued;
    expect(credential.username).toBe(`${PREFIX}${issued.lease_id.slice(4)}`);
    expect(credential.username.length).toBeLessThanOrEqual(32);
    expect(credential).toMatchObject({ host: HOST, port: PORT, database: DATABASE });

    const session = await login(credential);
    const [rows] = await session.query<RowDataPacket[]>(
      'SELECT CURRENT_USER() AS who, label FROM items WHERE id = 1',
    );
    expect(rows).toEqual([{ who: `${credential.username}@%`, label: 'one' }]);
    await expect(session.query("INSERT INTO items VALUES (2, 'nope')")).rejects.toMatchObject({
      code: 'ER_TABLEACCESS_DENIED_ERROR',
    });
    await session.end();

    expect(await loginFailure(credential, `${credential.password.slice(0, -2)}xy`)).toMatch(
      ACCESS_DENIED,
    );
    expect(await loginFailure(credential)).toBeNull();
    await revokeLease(h, agentA, issued.lease_id);
  });

  it('a write login writes where its privilege set allows and nowhere else', async () => {
    const { lease_id, credential } = await issueCredential<MysqlCredential>(
      h,
      agentA,
      request(['write']),
      secrets,
    );
    const session = await login(credential);
    await session.query("INSERT INTO items VALUES (2, 'two')");
    await session.query('DELETE FROM items WHERE id = 2');
    await expect(session.query('INSERT INTO x VALUES (1)')).rejects.toMatchObject({
      code: 'ER_TABLEACCESS_DENIED_ERROR',
    });
    await session.end();
    await revokeLease(h, agentA, lease_id);
  });

  it('DELETE /v1/leases/{id} kills the open session, refuses new logins and drops the account', async () => {
    await expectRevokeEndsAccess(broker, secrets, accounts, request(['read']), {
      sessionEndsWithinMs: 0,
    });
  });

  it('the reaper drops the account when the lease expires and ends its open session', async () => {
    await expectReaperEndsAccess(broker, secrets, accounts, request(['read'], { ttl: 1 }), {
      removedWithinMs: 5_000,
      sessionEndsWithinMs: 2_000,
    });
  });

  it('the kill switch revokes both logins of agent-a in one call and leaves agent-b alone', async () => {
    await expectKillSwitchSparesBystander(
      broker,
      secrets,
      accounts,
      [() => request(['read']), () => request(['write'])],
      { sessionEndsWithinMs: 2_000 },
    );
  });

  it('refuses a set outside the ceiling (403) and a set name carrying SQL (422) before any SQL runs', async () => {
    const before = await prefixedAccounts();
    for (const set of ['audit', 'admin']) {
      expect(await refusedCredential(h, agentA, request([set]))).toEqual({
        status: 403,
        code: 'scope_exceeds_ceiling',
      });
    }
    for (const set of [
      'read; drop table x',
      "read'; DROP TABLE x; --",
      'read` ON *.* TO root; --',
      'ALL PRIVILEGES',
    ]) {
      expect(await refusedCredential(h, agentA, request([set]))).toEqual({
        status: 422,
        code: 'scope_invalid',
      });
    }
    expect(await prefixedAccounts()).toBe(before);
    const [tables] = await root.query<RowDataPacket[]>(
      'SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1',
      [DATABASE],
    );
    expect(tables.map((row) => row.t)).toEqual(['items', 'x']);
  });

  it('leaves no account behind and no password in events or broker logs', async () => {
    await expectNothingLeft(broker, secrets, prefixedAccounts, 6);
  });
});
