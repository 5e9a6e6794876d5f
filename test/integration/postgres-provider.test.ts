import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PostgresCredential,
  type PostgresProvider,
  postgresProviderFactory,
} from '../../providers/postgres/index.js';
import { scramSha256Verifier } from '../../providers/postgres/lib/scram.js';
import { COMMENT_PATTERN, mintStatements } from '../../providers/postgres/mint.js';
import { type MintRequest, ProviderError } from '../../providers/provider.js';
import { newLeaseId } from '../../src/lib/ids.js';
import { createPgBrokerAdmin, type PgCluster, startPgCluster } from '../helpers/pg-cluster.js';

/**
 * Runs against a private cluster with scram-sha-256 authentication and `log_statement=all`,
 * as the non-superuser admin role docs/providers/postgres.md describes (PostgreSQL 15 grants).
 */
const cluster = await startPgCluster();

const ADMIN = 'broker_admin';
const ADMIN_PASSWORD = 'admin-Secret-7f3b9a1c2d';
const OWNER = 'broker_reclaimed';
const DATABASES = ['appdb', 'appdb2'];

type Scope = { roles: string[] };

function targetConfig(c: PgCluster, overrides: Record<string, unknown> = {}) {
  return {
    name: 'pg-app',
    provider: 'postgres',
    admin_url: c.url('appdb', ADMIN, ADMIN_PASSWORD),
    databases: DATABASES,
    connect: { host: c.host, port: c.port, database: 'appdb' },
    roles: { app_readonly: { access: 'read' }, app_readwrite: { access: 'write' } },
    reassign_to: OWNER,
    ...overrides,
  };
}

function mintRequest(roles: string[], ttlMs = 300_000, leaseId = newLeaseId()): MintRequest<Scope> {
  const now = Date.now();
  return {
    leaseId,
    workload: 'db-mcp',
    subject: 'system:serviceaccount:mcp:db-mcp',
    task: { id: 'task-1', intent: 'report' },
    scope: { roles },
    issuedAt: now,
    expiresAt: now + ttlMs,
  };
}

async function connectAs(credential: PostgresCredential, database = credential.database) {
  const client = new pg.Client({
    host: credential.host,
    port: credential.port,
    user: credential.username,
    password: credential.password,
    database,
  });
  // A terminated session reports here; the test inspects the next query instead.
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function loginError(credential: PostgresCredential, password = credential.password) {
  const client = new pg.Client({
    host: credential.host,
    port: credential.port,
    user: credential.username,
    password,
    database: credential.database,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.end();
    return null;
  } catch (err) {
    return err as { code?: string };
  }
}

describe.skipIf(cluster === null)('postgres provider (private scram-sha-256 cluster)', () => {
  const c = cluster as PgCluster;
  let su: pg.Client;
  let provider: PostgresProvider;
  const opened: PostgresProvider[] = [];

  function create(overrides: Record<string, unknown> = {}): PostgresProvider {
    const created = postgresProviderFactory.create(targetConfig(c, overrides), {
      brokerUrl: 'https://broker.test',
    }) as PostgresProvider;
    opened.push(created);
    return created;
  }

  const asSuperuser = (database: string, sql: string) => c.asSuperuser(database, sql);

  async function roleRow(role: string) {
    const { rows } = await su.query<{
      rolcanlogin: boolean;
      rolinherit: boolean;
      rolsuper: boolean;
      rolcreaterole: boolean;
      rolconnlimit: number;
      rolvaliduntil: Date | null;
      comment: string | null;
    }>(
      `SELECT rolcanlogin, rolinherit, rolsuper, rolcreaterole, rolconnlimit, rolvaliduntil,
              shobj_description(oid, 'pg_authid') AS comment
         FROM pg_roles WHERE rolname = $1`,
      [role],
    );
    return rows[0];
  }

  async function memberships(role: string): Promise<string[]> {
    const { rows } = await su.query<{ rolname: string }>(
      `SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
        WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = $1) ORDER BY 1`,
      [role],
    );
    return rows.map((row) => row.rolname);
  }

  beforeAll(async () => {
    su = new pg.Client(c.url('postgres'));
    await su.connect();
    // Exactly the PostgreSQL 15 grants docs/providers/postgres.md lists, nothing more.
    await createPgBrokerAdmin(su, { user: ADMIN, password: ADMIN_PASSWORD, owner: OWNER }, [
      'app_readonly',
      'app_readwrite',
    ]);
    await su.query(`
      CREATE ROLE app_danger NOLOGIN;
      GRANT pg_read_server_files TO app_danger;
      CREATE ROLE app_creator NOLOGIN CREATEDB;
      CREATE ROLE app_middle NOLOGIN;
      GRANT app_creator TO app_middle;
      CREATE ROLE app_deep NOLOGIN;
      GRANT app_middle TO app_deep;
      CREATE ROLE app_owner NOLOGIN;
    `);
    for (const database of DATABASES) {
      await su.query(`CREATE DATABASE ${database}`);
      await asSuperuser(
        database,
        `CREATE SCHEMA app AUTHORIZATION app_owner;
         CREATE TABLE app.items (id int PRIMARY KEY, name text NOT NULL);
         ALTER TABLE app.items OWNER TO app_owner;
         INSERT INTO app.items VALUES (1, 'first');
         GRANT USAGE ON SCHEMA app TO app_readonly, app_readwrite;
         GRANT SELECT ON app.items TO app_readonly;
         GRANT SELECT, INSERT, UPDATE, DELETE ON app.items TO app_readwrite;
         GRANT CREATE ON SCHEMA app TO app_readwrite;`,
      );
    }
    provider = create();
  });

  afterAll(async () => {
    await Promise.allSettled(opened.map((p) => p.close()));
    await su?.end().catch(() => {});
    await c.stop();
  });

  it('reports healthy through the non-superuser admin role', async () => {
    expect(await provider.check()).toEqual({ ok: true });
    const { rows } = await su.query<{ rolsuper: boolean }>(
      'SELECT rolsuper FROM pg_roles WHERE rolname = $1',
      [ADMIN],
    );
    expect(rows[0]?.rolsuper).toBe(false);
  });

  it('mints a login that authenticates with its password and not with a wrong one', async () => {
    const req = mintRequest(['app_readonly']);
    const minted = await provider.mint(req);
    const { credential } = minted;
    expect(credential.username).toBe(`jit_${req.leaseId.slice(4)}`);
    expect(credential.username.length).toBeLessThanOrEqual(63);
    expect(Buffer.from(credential.password, 'base64url').length).toBeGreaterThanOrEqual(32);
    expect(credential).toMatchObject({ host: c.host, port: c.port, database: 'appdb' });
    expect(credential.expires_at).toBe(new Date(req.expiresAt).toISOString());
    expect(minted.handle).toEqual({ role: credential.username });
    expect(minted.providerExpiresAt).toBe(req.expiresAt);

    const session = await connectAs(credential);
    const { rows } = await session.query<{ who: string }>('SELECT current_user AS who');
    expect(rows[0]?.who).toBe(credential.username);
    await session.end();

    const viaUrl = new pg.Client(credential.url);
    await viaUrl.connect();
    await viaUrl.end();

    const wrong = await loginError(credential, `${credential.password.slice(0, -1)}x`);
    expect(wrong?.code).toBe('28P01');

    const role = await roleRow(credential.username);
    expect(role).toMatchObject({
      rolcanlogin: true,
      rolinherit: true,
      rolsuper: false,
      rolcreaterole: false,
      rolconnlimit: 5,
    });
    expect(role?.rolvaliduntil?.getTime()).toBe(req.expiresAt);
    expect(role?.comment).toMatch(new RegExp(`^jit-broker lease ${req.leaseId} created \\S+Z$`));
    expect(await memberships(credential.username)).toEqual(['app_readonly']);
    await provider.revoke(minted.handle, req.leaseId);
  });

  it('stores a SCRAM verifier, and the plaintext password reaches no server log', async () => {
    const req = mintRequest(['app_readonly']);
    const { credential, handle } = await provider.mint(req);
    const { rows } = await su.query<{ rolpassword: string }>(
      'SELECT rolpassword FROM pg_authid WHERE rolname = $1',
      [credential.username],
    );
    expect(rows[0]?.rolpassword).toMatch(
      /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/,
    );
    const session = await connectAs(credential);
    await session.end();

    const log = await c.readLog();
    // The log does record the statement (log_statement=all), just not the password.
    expect(log).toContain(`CREATE ROLE "${credential.username}"`);
    expect(log).not.toContain(credential.password);
    await provider.revoke(handle, req.leaseId);
  });

  it('grants exactly the group role: SELECT through app_readonly works, INSERT does not', async () => {
    const req = mintRequest(['app_readonly']);
    const { credential, handle } = await provider.mint(req);
    const session = await connectAs(credential);
    const { rows } = await session.query<{ name: string }>(
      'SELECT name FROM app.items WHERE id = 1',
    );
    expect(rows).toEqual([{ name: 'first' }]);
    await expect(session.query("INSERT INTO app.items VALUES (2, 'nope')")).rejects.toMatchObject({
      code: '42501',
    });
    await session.end();
    await provider.revoke(handle, req.leaseId);
  });

  it('revoke kills an open session, refuses new logins and drops the role', async () => {
    const req = mintRequest(['app_readonly']);
    const { credential, handle } = await provider.mint(req);
    const session = await connectAs(credential);
    await session.query('SELECT 1');

    await provider.revoke(handle, req.leaseId);

    await expect(session.query('SELECT 1')).rejects.toThrow();
    await session.end().catch(() => {});
    const refused = await loginError(credential);
    expect(refused?.code).toBe('28P01');
    expect(await roleRow(credential.username)).toBeUndefined();
  });

  it('drops a login that created tables in every database; the tables survive under reassign_to', async () => {
    const req = mintRequest(['app_readwrite']);
    const { credential, handle } = await provider.mint(req);
    const table = `made_by_${req.leaseId.slice(4, 12)}`;
    for (const database of DATABASES) {
      const session = await connectAs(credential, database);
      await session.query(`CREATE TABLE app.${table} (id int)`);
      await session.query(`INSERT INTO app.${table} VALUES (42)`);
      await session.end();
    }

    await provider.revoke(handle, req.leaseId);

    expect(await roleRow(credential.username)).toBeUndefined();
    for (const database of DATABASES) {
      const client = new pg.Client(c.url(database));
      await client.connect();
      const { rows } = await client.query<{ tableowner: string }>(
        'SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = $2',
        ['app', table],
      );
      const data = await client.query<{ id: number }>(`SELECT id FROM app.${table}`);
      await client.end();
      expect(rows).toEqual([{ tableowner: OWNER }]);
      expect(data.rows).toEqual([{ id: 42 }]);
    }
  });

  it('an object in an unlisted database blocks DROP ROLE, but the login is already dead', async () => {
    const partial = create({ databases: ['appdb'] });
    const req = mintRequest(['app_readwrite']);
    const { credential, handle } = await partial.mint(req);
    const session = await connectAs(credential, 'appdb2');
    await session.query(`CREATE TABLE app.stray_${req.leaseId.slice(4, 12)} (id int)`);
    await session.end();

    await expect(partial.revoke(handle, req.leaseId)).rejects.toMatchObject({
      code: 'provider_rejected',
      retryable: false,
    });
    expect(await roleRow(credential.username)).toMatchObject({ rolcanlogin: false });
    expect(await memberships(credential.username)).not.toContain('app_readwrite');
    expect((await loginError(credential))?.code).toBe('28000');

    await provider.revoke(handle, req.leaseId);
    expect(await roleRow(credential.username)).toBeUndefined();
  });

  it('refuses a scope outside the ceiling or carrying SQL before any SQL runs', async () => {
    const sqlText = 'x; drop table app.items';
    expect(provider.scope.safeParse({ roles: [sqlText] }).success).toBe(false);
    expect(provider.scope.safeParse({ roles: ['app_readonly"; DROP ROLE x; --'] }).success).toBe(
      false,
    );
    expect(
      provider.within({ roles: ['app_readwrite'] }, { roles: ['app_readonly'] }),
    ).toMatchObject({
      ok: false,
    });
    expect(provider.within({ roles: ['app_owner'] }, { roles: ['app_owner'] })).toMatchObject({
      ok: false,
    });

    const before = await c.readLog();
    const req = mintRequest([sqlText]);
    await expect(provider.mint(req)).rejects.toMatchObject({ code: 'invalid_scope' });
    // A role that exists in the database but is not configured on the target.
    await expect(provider.mint(mintRequest(['app_owner']))).rejects.toMatchObject({
      code: 'invalid_scope',
    });
    const after = await c.readLog();
    expect(after.slice(before.length)).not.toContain('drop table');
    expect(after.slice(before.length)).not.toContain('CREATE ROLE');
    expect(await roleRow(`jit_${req.leaseId.slice(4)}`)).toBeUndefined();
    const items = new pg.Client(c.url('appdb'));
    await items.connect();
    const { rows } = await items.query<{ n: string }>('SELECT count(*) AS n FROM app.items');
    await items.end();
    expect(Number(rows[0]?.n)).toBeGreaterThanOrEqual(1);
  });

  it('revoking twice succeeds, and an empty handle derives the role from the lease id', async () => {
    const first = mintRequest(['app_readonly']);
    const minted = await provider.mint(first);
    await provider.revoke(minted.handle, first.leaseId);
    await provider.revoke(minted.handle, first.leaseId);
    await provider.revoke({}, first.leaseId);

    const crashed = mintRequest(['app_readwrite']);
    const lost = await provider.mint(crashed);
    expect(await roleRow(lost.credential.username)).toBeDefined();
    await provider.revoke({}, crashed.leaseId);
    expect(await roleRow(lost.credential.username)).toBeUndefined();
  });

  it('leaves no role behind when a step after CREATE ROLE fails', async () => {
    const broken = create({
      roles: { app_readonly: { access: 'read' }, app_missing: { access: 'read' } },
    });
    const req = mintRequest(['app_readonly', 'app_missing']);
    const role = `jit_${req.leaseId.slice(4)}`;
    await expect(broken.mint(req)).rejects.toMatchObject({ code: 'provider_rejected' });
    expect(await c.readLog()).toContain(`CREATE ROLE "${role}"`);
    expect(await roleRow(role)).toBeUndefined();
  });

  it('refuses to hand out a group role that reaches a dangerous built-in role', async () => {
    const risky = create({ roles: { app_danger: { access: 'read' } } });
    const req = mintRequest(['app_danger']);
    const role = `jit_${req.leaseId.slice(4)}`;
    const err = await risky.mint(req).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'provider_misconfigured', retryable: false });
    expect((err as Error).message).toContain('group role(s) app_danger carry');
    expect(await c.readLog()).toContain(`CREATE ROLE "${role}"`);
    expect(await roleRow(role)).toBeUndefined();
    expect(await memberships(role)).toEqual([]);
  });

  it('refuses a group role two memberships away from a role with CREATEDB, and names only it', async () => {
    const risky = create({
      roles: { app_readonly: { access: 'read' }, app_deep: { access: 'read' } },
    });
    const req = mintRequest(['app_readonly', 'app_deep']);
    const role = `jit_${req.leaseId.slice(4)}`;
    const err = await risky.mint(req).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'provider_misconfigured', retryable: false });
    expect((err as Error).message).toContain('group role(s) app_deep carry');
    expect(await roleRow(role)).toBeUndefined();
  });

  it('a mint whose session is ended under it is provider_unavailable and leaves no role', async () => {
    const req = mintRequest(['app_readonly']);
    const role = `jit_${req.leaseId.slice(4)}`;
    // An open transaction creating the same name holds the mint's CREATE ROLE in a lock wait.
    const holder = new pg.Client(c.url('postgres'));
    await holder.connect();
    await holder.query(`BEGIN; CREATE ROLE ${role} NOLOGIN`);
    const minting = provider.mint(req).catch((e: unknown) => e);
    try {
      let pid: number | undefined;
      while (pid === undefined) {
        const { rows } = await su.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity
            WHERE wait_event_type = 'Lock' AND position($1 in query) > 0`,
          [`CREATE ROLE "${role}"`],
        );
        pid = rows[0]?.pid;
        if (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await su.query('SELECT pg_terminate_backend($1)', [pid]);
      const err = await minting;
      expect(err).toBeInstanceOf(ProviderError);
      expect(err).toMatchObject({ code: 'provider_unavailable', retryable: true });
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    expect(await roleRow(role)).toBeUndefined();
    // The pool replaced the ended connection: the next mint works.
    const next = mintRequest(['app_readonly']);
    const minted = await provider.mint(next);
    await provider.revoke(minted.handle, next.leaseId);
  });

  it("comments the role with the server's transaction time, in the shape the sweeper reads", async () => {
    const serverNow = async () =>
      (await su.query<{ now: Date }>('SELECT now() AS now')).rows[0]?.now;
    const before = await serverNow();
    const req = mintRequest(['app_readonly', 'app_readwrite']);
    const { credential, handle } = await provider.mint(req);
    const after = await serverNow();
    const comment = (await roleRow(credential.username))?.comment ?? '';
    const marked = COMMENT_PATTERN.exec(comment);
    expect(marked?.[1]).toBe(req.leaseId);
    const created = new Date(marked?.[2] ?? '');
    expect(created.toISOString()).toBe(marked?.[2]);
    expect(created.getTime()).toBeGreaterThanOrEqual(before?.getTime() ?? Number.NaN);
    expect(created.getTime()).toBeLessThanOrEqual(after?.getTime() ?? Number.NaN);
    expect(await memberships(credential.username)).toEqual(['app_readonly', 'app_readwrite']);
    await provider.revoke(handle, req.leaseId);
  });

  it('escapes every name and value in the one-query mint, the DO block included', async () => {
    // Names no configuration admits, to prove the escaping rather than the validation.
    const login = `odd'"$$ login; DROP ROLE x`;
    const group = `odd'"$$ group $jb$`;
    const password = "pw-with-quote'-and-$$";
    await su.query(`CREATE ROLE ${pg.escapeIdentifier(group)} NOLOGIN`);
    try {
      const until = new Date(Date.now() + 600_000).toISOString();
      await su.query(
        mintStatements(login, 'lse_0123456789abcdefghjkmnpqrs', [group], {
          verifier: await scramSha256Verifier(password),
          validUntil: until,
          connectionLimit: 2,
        }),
      );
      const row = await roleRow(login);
      expect(row).toMatchObject({ rolcanlogin: true, rolconnlimit: 2 });
      expect(row?.rolvaliduntil?.toISOString()).toBe(until);
      expect(row?.comment).toMatch(
        /^jit-broker lease lse_0123456789abcdefghjkmnpqrs created \S+Z$/,
      );
      expect(await memberships(login)).toEqual([group]);
      const session = new pg.Client({
        host: c.host,
        port: c.port,
        user: login,
        password,
        database: 'appdb',
      });
      await session.connect();
      await session.end();
    } finally {
      await su.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(login)}`);
      await su.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(group)}`);
    }
  });

  it('renew moves VALID UNTIL; renewing a revoked login is not_renewable', async () => {
    const req = mintRequest(['app_readonly'], 60_000);
    const { credential, handle } = await provider.mint(req);
    const later = req.expiresAt + 30 * 60_000;
    expect(await provider.renew(handle, { ...req, expiresAt: later })).toEqual({});
    expect((await roleRow(credential.username))?.rolvaliduntil?.getTime()).toBe(later);
    const session = await connectAs(credential);
    await session.end();

    await provider.revoke(handle, req.leaseId);
    await expect(provider.renew(handle, { ...req, expiresAt: later })).rejects.toMatchObject({
      code: 'not_renewable',
    });
  });

  it('a login past VALID UNTIL cannot log in even before the broker revokes it', async () => {
    const req = mintRequest(['app_readonly'], 2_000);
    const { credential, handle } = await provider.mint(req);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect((await loginError(credential))?.code).toBe('28P01');
    await provider.revoke(handle, req.leaseId);
  });

  it('sweep drops orphans past the grace period whose lease is not live, and nothing else', async () => {
    const sweeper = create({ role_prefix: 'swp_' });
    const hour = 3_600_000;
    const orphan = newLeaseId();
    const live = newLeaseId();
    const young = newLeaseId();
    const unmarked = newLeaseId();
    const old = new Date(Date.now() - hour).toISOString();
    const roleOf = (leaseId: string) => `swp_${leaseId.slice(4)}`;
    const makeRole = async (leaseId: string, comment: string | null) => {
      await su.query(`CREATE ROLE ${roleOf(leaseId)} LOGIN`);
      await su.query(`GRANT app_readonly TO ${roleOf(leaseId)}`);
      if (comment !== null) {
        await su.query(`COMMENT ON ROLE ${roleOf(leaseId)} IS '${comment}'`);
      }
    };
    await makeRole(orphan, `jit-broker lease ${orphan} created ${old}`);
    await makeRole(live, `jit-broker lease ${live} created ${old}`);
    await makeRole(unmarked, null);
    // A real mint (server clock) stands for a young role.
    const minted = await sweeper.mint(mintRequest(['app_readonly'], 300_000, young));

    const asked: string[] = [];
    const removed = await sweeper.sweep(async (leaseId) => {
      asked.push(leaseId);
      return leaseId === live;
    }, 10 * 60_000);

    expect(removed).toBe(1);
    expect(await roleRow(roleOf(orphan))).toBeUndefined();
    expect(await roleRow(roleOf(live))).toBeDefined();
    expect(await roleRow(roleOf(young))).toBeDefined();
    expect(await roleRow(roleOf(unmarked))).toBeDefined();
    expect(asked.sort()).toEqual([live, orphan].sort());

    await sweeper.revoke(minted.handle, young);
    await sweeper.revoke({}, live);
    await sweeper.revoke({}, unmarked);
    expect(await roleRow(roleOf(live))).toBeUndefined();
  });

  it('a bad admin password is provider_misconfigured and its message leaks no secret', async () => {
    const wrong = 'Wrong-admin-Secret-999';
    const broken = create({ admin_url: c.url('appdb', ADMIN, wrong) });
    const health = await broken.check();
    expect(health.ok).toBe(false);
    expect(health.detail).not.toContain(wrong);
    const err = await broken.mint(mintRequest(['app_readonly'])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ code: 'provider_misconfigured', retryable: false });
    expect((err as Error).message).not.toContain(wrong);
  });
});
