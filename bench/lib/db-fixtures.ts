import { randomBytes } from 'node:crypto';
import type { RowDataPacket } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import pg from 'pg';

/**
 * The database side of bench/db-kill-switch.ts: on the machine's PostgreSQL and MariaDB, a
 * broker admin account with exactly the grants docs/providers/*.md list, a group role or
 * privilege set to hand out, a small table, and an application account for the "other
 * clients" — all under names unique to the run, removed at the end (also after a failure).
 */

export const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

export interface PgFixture {
  /** `postgres` target entry of the broker config. */
  target: Record<string, unknown>;
  rolePrefix: string;
  /** Where the other clients connect (an ordinary login with SELECT on the table). */
  appUrl: string;
  /** The table the other clients read. */
  table: string;
  /** Connection URL of the superuser (inspection, clean-up). */
  superUrl: string;
  version: string;
  drop(): Promise<void>;
}

export interface MysqlFixture {
  target: Record<string, unknown>;
  userPrefix: string;
  appUrl: string;
  table: string;
  rootUrl: string;
  version: string;
  drop(): Promise<void>;
}

function withUser(url: string, user: string, database?: string): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = '';
  if (database !== undefined) parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function pgFixture(targetName: string): Promise<PgFixture> {
  const tag = `jbk${randomBytes(3).toString('hex')}`;
  const admin = `${tag}_admin`;
  const group = `${tag}_reader`;
  const owner = `${tag}_owner`;
  const app = `${tag}_app`;
  const schema = `${tag}_s`;
  const rolePrefix = `${tag}_l_`;
  const database = decodeURIComponent(new URL(PG_URL).pathname.slice(1)) || 'postgres';
  const su = new pg.Client(PG_URL);
  await su.connect();
  let version = '';
  try {
    version = String(
      (await su.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v,
    );
    await su.query(`
      CREATE ROLE ${admin} LOGIN CREATEROLE;
      GRANT pg_signal_backend TO ${admin};
      CREATE ROLE ${group} NOLOGIN;
      CREATE ROLE ${owner} NOLOGIN;
      GRANT ${group} TO ${admin} WITH ADMIN OPTION;
      GRANT ${owner} TO ${admin};
      CREATE ROLE ${app} LOGIN;
      CREATE SCHEMA ${schema};
      CREATE TABLE ${schema}.items (id int PRIMARY KEY, name text NOT NULL);
      INSERT INTO ${schema}.items SELECT g, 'item ' || g FROM generate_series(1, 100) g;
      GRANT USAGE ON SCHEMA ${schema} TO ${group}, ${app};
      GRANT SELECT ON ${schema}.items TO ${group}, ${app};
    `);
  } finally {
    await su.end();
  }
  return {
    target: {
      name: targetName,
      provider: 'postgres',
      admin_url: withUser(PG_URL, admin),
      databases: [database],
      connect: {
        host: new URL(PG_URL).hostname,
        port: Number(new URL(PG_URL).port || 5432),
        database,
      },
      roles: { [group]: { access: 'read' } },
      role_prefix: rolePrefix,
      reassign_to: owner,
    },
    rolePrefix,
    appUrl: withUser(PG_URL, app),
    table: `${schema}.items`,
    superUrl: PG_URL,
    version: `PostgreSQL ${version.split(' ')[0]}`,
    drop: async () => {
      const client = new pg.Client(PG_URL);
      await client.connect();
      try {
        await client.query(
          `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
            WHERE starts_with(usename, $1)`,
          [tag],
        );
        const { rows } = await client.query<{ rolname: string }>(
          `SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)
            ORDER BY rolname = ANY($2::text[]), rolname`,
          [tag, [admin, group, owner, app]],
        );
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        // Login roles first, then the fixture's own (the admin holds memberships in them).
        for (let i = 0; i < rows.length; i += 200) {
          const names = rows.slice(i, i + 200).map((r) => pg.escapeIdentifier(r.rolname));
          await client.query(`DROP OWNED BY ${names.join(', ')}`);
          await client.query(`DROP ROLE IF EXISTS ${names.join(', ')}`);
        }
      } finally {
        await client.end();
      }
    },
  };
}

/** Login roles (or accounts) still under the prefix, and their open sessions. */
export async function pgLeft(
  client: pg.Client,
  prefix: string,
): Promise<{ accounts: number; sessions: number }> {
  const { rows } = await client.query<{ accounts: number; sessions: number }>(
    `SELECT (SELECT count(*)::int FROM pg_roles WHERE starts_with(rolname, $1)) AS accounts,
            (SELECT count(*)::int FROM pg_stat_activity WHERE starts_with(usename, $1)) AS sessions`,
    [prefix],
  );
  return rows[0] ?? { accounts: -1, sessions: -1 };
}

export async function mysqlFixture(targetName: string): Promise<MysqlFixture> {
  const tag = `jbk${randomBytes(3).toString('hex')}`;
  const admin = `${tag}adm`;
  const app = `${tag}app`;
  const table = `${tag}_items`;
  const database = new URL(MYSQL_URL).pathname.slice(1) || 'test';
  const root = await mysql.createConnection({ uri: MYSQL_URL });
  let userPrefix = '';
  let version = '';
  try {
    version = String(
      ((await root.query<RowDataPacket[]>('SELECT VERSION() AS v'))[0][0] as { v: string }).v,
    );
    // Account names are capped at 32 characters, so the prefix has 4: pick one nobody uses.
    for (let attempt = 0; attempt < 20 && userPrefix === ''; attempt += 1) {
      const candidate = `q${randomBytes(2).toString('hex').slice(0, 2)}_`;
      const [rows] = await root.query<RowDataPacket[]>(
        'SELECT 1 FROM mysql.user WHERE LEFT(User, 4) = ? LIMIT 1',
        [candidate],
      );
      if (rows.length === 0) userPrefix = candidate;
    }
    if (userPrefix === '') throw new Error('no free 4-character account prefix');
    const t = `${mysql.escapeId(database)}.${mysql.escapeId(table)}`;
    await root.query(`CREATE TABLE ${t} (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL)`);
    const values = Array.from({ length: 100 }, (_, i) => [i + 1, `item ${i + 1}`]);
    await root.query(`INSERT INTO ${t} VALUES ?`, [values]);
    await root.query('CREATE USER ?@?', [admin, '%']);
    await root.query('GRANT CREATE USER, PROCESS, CONNECTION ADMIN ON *.* TO ?@?', [admin, '%']);
    await root.query('GRANT SELECT (User, Host) ON mysql.user TO ?@?', [admin, '%']);
    await root.query(`GRANT SELECT ON ${t} TO ?@? WITH GRANT OPTION`, [admin, '%']);
    await root.query('CREATE USER ?@?', [app, '%']);
    await root.query(`GRANT SELECT ON ${t} TO ?@?`, [app, '%']);
  } finally {
    await root.end();
  }
  const url = new URL(MYSQL_URL);
  return {
    target: {
      name: targetName,
      provider: 'mysql',
      admin_url: withUser(MYSQL_URL, admin),
      flavor: 'mariadb',
      connect: { host: url.hostname, port: Number(url.port || 3306), database },
      privilege_sets: { reader: { grants: [`SELECT ON ${database}.${table}`] } },
      user_prefix: userPrefix,
    },
    userPrefix,
    appUrl: withUser(MYSQL_URL, app),
    table: `${database}.${table}`,
    rootUrl: MYSQL_URL,
    version: `MariaDB ${version.split('-')[0]}`,
    drop: async () => {
      const client = await mysql.createConnection({ uri: MYSQL_URL });
      try {
        const [sessions] = await client.query<RowDataPacket[]>(
          'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE LEFT(USER, 4) = ? OR USER IN (?)',
          [userPrefix, [admin, app]],
        );
        for (const session of sessions) {
          await client.query('KILL CONNECTION ?', [Number(session.id)]).catch(() => {});
        }
        const [accounts] = await client.query<RowDataPacket[]>(
          'SELECT User AS user, Host AS host FROM mysql.user WHERE LEFT(User, 4) = ? OR User IN (?)',
          [userPrefix, [admin, app]],
        );
        for (let i = 0; i < accounts.length; i += 200) {
          const list = accounts
            .slice(i, i + 200)
            .map((a) => mysql.format('?@?', [a.user, a.host]))
            .join(', ');
          await client.query(`DROP USER IF EXISTS ${list}`);
        }
        await client.query(
          `DROP TABLE IF EXISTS ${mysql.escapeId(database)}.${mysql.escapeId(table)}`,
        );
      } finally {
        await client.end();
      }
    },
  };
}

export async function mysqlLeft(
  client: mysql.Connection,
  prefix: string,
): Promise<{ accounts: number; sessions: number }> {
  const [rows] = await client.query<RowDataPacket[]>(
    `SELECT (SELECT COUNT(*) FROM mysql.user WHERE LEFT(User, ?) = ?) AS accounts,
            (SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE LEFT(USER, ?) = ?) AS sessions`,
    [prefix.length, prefix, prefix.length, prefix],
  );
  const row = rows[0] as { accounts: number; sessions: number } | undefined;
  return { accounts: Number(row?.accounts ?? -1), sessions: Number(row?.sessions ?? -1) };
}
