import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { scramSha256Verifier } from '../../providers/postgres/lib/scram.js';

export const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The provider's admin pool size: issuance to one database runs at most this many mints at once. */
export const PG_CONCURRENCY = 4;

/** The roles one bench run creates; all start with `run`, and `drop` removes them all. */
export interface PgRun {
  run: string;
  adminUrl: string;
  group: string;
  owner: string;
  /** The broker's login roles. */
  rolePrefix: string;
  /** The floor's login roles (apart, so the broker's sweeper never takes them for its own). */
  floorPrefix: string;
  host: string;
  port: number;
  database: string;
  drop(): Promise<number>;
}

/**
 * The group role handed out, the role revoked logins' objects go to, and the admin role
 * (`CREATEROLE`, not a superuser, as docs/providers/postgres.md asks), under a fresh name.
 */
export async function preparePgRun(url = PG_URL): Promise<PgRun> {
  const run = `jbi${randomBytes(4).toString('hex')}`;
  const admin = `${run}adm`;
  const group = `${run}grp`;
  const owner = `${run}own`;
  const password = randomBytes(16).toString('hex');
  const su = new pg.Client(url);
  await su.connect();
  try {
    await su.query(`
      CREATE ROLE ${admin} LOGIN CREATEROLE PASSWORD '${password}';
      GRANT pg_signal_backend TO ${admin};
      CREATE ROLE ${group} NOLOGIN;
      CREATE ROLE ${owner} NOLOGIN;
      GRANT ${group} TO ${admin} WITH ADMIN OPTION;
      GRANT ${owner} TO ${admin};`);
  } finally {
    await su.end();
  }
  const parsed = new URL(url);
  const adminUrl = new URL(url);
  adminUrl.username = admin;
  adminUrl.password = password;
  return {
    run,
    adminUrl: adminUrl.toString(),
    group,
    owner,
    rolePrefix: `${run}_`,
    floorPrefix: `${run}f_`,
    host: parsed.hostname,
    port: Number(parsed.port || 5432),
    database: decodeURIComponent(parsed.pathname.slice(1)),
    drop: () => dropRun(url, run, [admin, group, owner]),
  };
}

/** Drops every role whose name starts with `run`: minted logins first, then the run's own. */
async function dropRun(url: string, run: string, own: readonly string[]): Promise<number> {
  const su = new pg.Client(url);
  await su.connect();
  try {
    const { rows } = await su.query<{ rolname: string }>(
      'SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)',
      [run],
    );
    const names = rows.map((r) => r.rolname);
    const logins = names.filter((n) => !own.includes(n));
    for (let i = 0; i < logins.length; i += 500) {
      const batch = logins.slice(i, i + 500).map((n) => pg.escapeIdentifier(n));
      await su.query(`DROP ROLE IF EXISTS ${batch.join(', ')}`);
    }
    for (const name of own) {
      await su.query(`DROP OWNED BY ${pg.escapeIdentifier(name)}`);
      await su.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(name)}`);
    }
    return logins.length;
  } finally {
    await su.end();
  }
}

export interface PgFloorOptions {
  adminUrl: string;
  group: string;
  rolePrefix: string;
}

/**
 * The PostgreSQL floor's mint: a login role with a SCRAM verifier (the password never
 * reaches the server in clear), valid until the lease's expiry, and its group role, in one
 * implicit transaction, through a pool as large as the provider's.
 */
export function pgFloorMint(options: PgFloorOptions): {
  mint(leaseId: string, expiresAt: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
} {
  const pool = new pg.Pool({ connectionString: options.adminUrl, max: PG_CONCURRENCY });
  pool.on('error', () => {});
  return {
    async mint(leaseId, expiresAt) {
      const role = `${options.rolePrefix}${leaseId.slice('lse_'.length)}`;
      const password = randomBytes(32).toString('base64url');
      const until = new Date(expiresAt).toISOString();
      const verifier = await scramSha256Verifier(password);
      await pool.query(
        `CREATE ROLE ${role} LOGIN PASSWORD ${pg.escapeLiteral(verifier)}` +
          ` VALID UNTIL ${pg.escapeLiteral(until)}; GRANT ${options.group} TO ${role}`,
      );
      return { username: role, password, expires_at: until };
    },
    close: () => pool.end(),
  };
}
