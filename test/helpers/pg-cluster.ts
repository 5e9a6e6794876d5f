import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './free-port.js';
import { requireService } from './services.js';

const run = promisify(execFile);

/**
 * A private PostgreSQL cluster for tests that need real password authentication: the
 * machine's shared server trusts every local connection, so it proves nothing about
 * passwords. This one has `scram-sha-256` for every connection and logs every statement
 * (`log_statement=all`), so a test can grep the log for secrets.
 */
export interface PgCluster {
  readonly host: string;
  readonly port: number;
  readonly superuser: string;
  readonly superuserPassword: string;
  /** Connection URL as the superuser (test set-up only; the provider never gets it). */
  url(database?: string, user?: string, password?: string): string;
  /** One statement (or several, without params) as the superuser on `database`, on a connection of its own. */
  asSuperuser(database: string, sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  /** The server's log so far. */
  readLog(): Promise<string>;
  stop(): Promise<void>;
}

const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
/** Unprivileged OS account that owns the data directory (initdb refuses to run as root). */
const OS_USER = process.env.PG_OS_USER ?? 'postgres';

async function asOsUser(command: string, args: string[]): Promise<void> {
  const isRoot = process.getuid?.() === 0;
  if (isRoot) {
    await run('runuser', ['-u', OS_USER, '--', command, ...args], { timeout: 60_000 });
  } else {
    await run(command, args, { timeout: 60_000 });
  }
}

async function osUserIds(): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run('id', ['-u', OS_USER])).stdout.trim());
  const gid = Number((await run('id', ['-g', OS_USER])).stdout.trim());
  return { uid, gid };
}

async function startCluster(): Promise<PgCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'jit-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const pwfile = join(dir, 'pwfile');
  const superuser = 'postgres';
  const superuserPassword = randomBytes(18).toString('base64url');
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    if (process.getuid?.() === 0) {
      const { uid, gid } = await osUserIds();
      await chown(dir, uid, gid);
    }
    await chmod(dir, 0o700);
    await writeFile(pwfile, `${superuserPassword}\n`, { mode: 0o600 });
    if (process.getuid?.() === 0) {
      const { uid, gid } = await osUserIds();
      await chown(pwfile, uid, gid);
    }
    await asOsUser(join(BIN, 'initdb'), [
      '-D',
      data,
      '-U',
      superuser,
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--no-sync',
    ]);
    await rm(pwfile);
    const port = await freePort();
    const options = [
      `-c port=${port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${dir}`,
      '-c log_statement=all',
      '-c fsync=off',
      '-c max_connections=60',
    ].join(' ');
    await asOsUser(join(BIN, 'pg_ctl'), [
      '-D',
      data,
      '-l',
      log,
      '-o',
      options,
      '-w',
      '-t',
      '60',
      'start',
    ]);

    let stopped = false;
    const url = (database = 'postgres', user = superuser, password = superuserPassword) =>
      `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
    return {
      host: '127.0.0.1',
      port,
      superuser,
      superuserPassword,
      url,
      async asSuperuser(database, sql, params = []) {
        const client = new pg.Client(url(database));
        await client.connect();
        try {
          return await client.query(sql, params);
        } finally {
          await client.end();
        }
      },
      readLog: () => readFile(log, 'utf8'),
      async stop() {
        if (stopped) return;
        stopped = true;
        await asOsUser(join(BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(
          () => {},
        );
        await cleanup();
      },
    };
  } catch (err) {
    await asOsUser(join(BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']).catch(() => {});
    await cleanup();
    throw err;
  }
}

/**
 * Starts a private cluster, or (outside CI) returns `null` with a loud notice when it cannot.
 * Under `CI=true` a failure to start fails the suite.
 */
export async function startPgCluster(): Promise<PgCluster | null> {
  try {
    return await startCluster();
  } catch (err) {
    console.warn(`private PostgreSQL cluster did not start: ${(err as Error).message}`);
    await requireService('private PostgreSQL cluster (initdb)', false);
    return null;
  }
}

/**
 * The broker's admin login with exactly the PostgreSQL 15 grants docs/providers/postgres.md
 * lists: CREATEROLE, pg_signal_backend, membership of the role that reclaims a dropped
 * login's objects, and ADMIN OPTION on each grantable role (created here, NOLOGIN).
 */
export async function createPgBrokerAdmin(
  su: pg.Client,
  admin: { user: string; password: string; owner: string },
  roles: readonly string[],
): Promise<void> {
  await su.query(`
    CREATE ROLE ${admin.user} LOGIN CREATEROLE PASSWORD '${admin.password}';
    GRANT pg_signal_backend TO ${admin.user};
    ${roles.map((role) => `CREATE ROLE ${role} NOLOGIN;`).join('\n    ')}
    CREATE ROLE ${admin.owner} NOLOGIN;
    GRANT ${roles.join(', ')} TO ${admin.user} WITH ADMIN OPTION;
    GRANT ${admin.owner} TO ${admin.user};
  `);
}
