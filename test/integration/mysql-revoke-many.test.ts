import { randomBytes } from 'node:crypto';
import type { Connection } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type MysqlCredential,
  type MysqlProvider,
  mysqlProviderFactory,
} from '../../providers/mysql/index.js';
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
 * `revokeMany` of the mysql provider on the machine's MariaDB, through an admin account with
 * exactly the documented grants: one DROP USER for the batch, every session ended, and each
 * lease's own `revoke` still success afterwards.
 */

const run = randomBytes(2).toString('hex');
const PREFIX = `m${run.slice(0, 2)}_`;
const DATABASE = `jt${run}_bulk`;
const ADMIN_USER = `jt${run}bulkadm`;
const ADMIN_PASSWORD = randomBytes(18).toString('base64url');
const server = new URL(MYSQL_URL);

const available = await requireService('mariadb', await mysqlAvailable());

describe.skipIf(!available)('mysql provider: revoking many accounts at once', () => {
  let root: Connection;
  let provider: MysqlProvider;
  const opened: Connection[] = [];

  async function mint(): Promise<{ leaseId: string; credential: MysqlCredential }> {
    const leaseId = newLeaseId();
    const now = Date.now();
    const minted = await provider.mint({
      leaseId,
      workload: 'db-mcp',
      subject: 'system:serviceaccount:mcp:db-mcp',
      task: { id: 'task-1', intent: 'report' },
      scope: { privilege_sets: ['read'] },
      issuedAt: now,
      expiresAt: now + 300_000,
    });
    return { leaseId, credential: minted.credential };
  }

  const alive = (connection: Connection) =>
    connection.query('SELECT 1').then(
      () => true,
      () => false,
    );

  beforeAll(async () => {
    root = await mysql.createConnection({ uri: MYSQL_URL });
    await root.query(`CREATE DATABASE ${mysql.escapeId(DATABASE)}`);
    await createBrokerAdmin(
      root,
      { user: ADMIN_USER, password: ADMIN_PASSWORD },
      DATABASE,
      'SELECT',
    );
    provider = mysqlProviderFactory.create(
      {
        name: 'mysql-bulk',
        provider: 'mysql',
        admin_url: `mysql://${ADMIN_USER}:${ADMIN_PASSWORD}@${server.hostname}:${server.port || 3306}/`,
        flavor: 'mariadb',
        connect: { host: server.hostname, port: Number(server.port || 3306), database: DATABASE },
        privilege_sets: { read: { grants: [`SELECT ON ${DATABASE}.*`] } },
        user_prefix: PREFIX,
      },
      { brokerUrl: 'https://broker.test' },
    ) as MysqlProvider;
  });

  afterAll(async () => {
    for (const connection of opened) connection.destroy();
    await provider?.close();
    if (root === undefined) return;
    await dropAccounts(root, PREFIX, ADMIN_USER);
    await root.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(DATABASE)}`);
    await root.end();
  });

  it('drops every account of the batch and ends their sessions; each lease revoke afterwards is success', async () => {
    const leases = [];
    for (let i = 0; i < 20; i += 1) leases.push(await mint());
    const sessions = [];
    for (const { credential } of leases.slice(0, 5)) {
      sessions.push(await loginMysql(credential, opened));
    }
    for (const session of sessions) expect(await alive(session)).toBe(true);

    const left = await provider.revokeMany?.(
      leases.map(({ leaseId, credential }) => ({
        handle: { user: credential.username, host: '%' },
        leaseId,
      })),
    );

    expect(left).toEqual([]);
    for (const { credential } of leases) {
      expect(await mysqlAccountExists(root, credential.username)).toBe(false);
    }
    for (const session of sessions) expect(await alive(session)).toBe(false);
    for (const { leaseId } of leases) await provider.revoke({}, leaseId);
    // Already gone is success for the batch too.
    expect(
      await provider.revokeMany?.(leases.map(({ leaseId }) => ({ handle: {}, leaseId }))),
    ).toEqual([]);
  });

  it('leaves a lease whose handle names another lease’s account, and drops neither', async () => {
    const mine = await mint();
    const other = await mint();

    const left = await provider.revokeMany?.([
      { handle: { user: other.credential.username, host: '%' }, leaseId: mine.leaseId },
      { handle: { user: 'root', host: 'localhost' }, leaseId: other.leaseId },
    ]);

    expect(left).toEqual([mine.leaseId, other.leaseId]);
    expect(await mysqlAccountExists(root, mine.credential.username)).toBe(true);
    expect(await mysqlAccountExists(root, other.credential.username)).toBe(true);
    expect(await mysqlAccountExists(root, 'root')).toBe(true);
    await provider.revoke({}, mine.leaseId);
    await provider.revoke({}, other.leaseId);
  });
});
