import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresCredential } from '../../providers/postgres/index.js';
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
import { createPgBrokerAdmin, type PgCluster, startPgCluster } from '../helpers/pg-cluster.js';
import { redisAvailable, requireService } from '../helpers/services.js';

/*
 * The postgres provider end to end through the broker's HTTP API, against a private cluster
 * with scram-sha-256 authentication and `log_statement=all`. The broker's admin connection
 * runs as a non-superuser holding exactly the PostgreSQL 15 grants of
 * docs/providers/postgres.md; the lease store is the machine's Redis.
 */

const cluster = (await requireService('redis', await redisAvailable()))
  ? await startPgCluster()
  : null;

const ADMIN = 'broker_admin';
const ADMIN_PASSWORD = randomBytes(18).toString('base64url');
const OWNER = 'broker_reclaimed';
const DATABASES = ['appdb', 'appdb2'];
const PREFIX = 'jit_';

const task = (id: string) => ({ id, intent: 'report', tool: 'run_query' });
const request = (roles: string[], extra: Record<string, unknown> = {}) => ({
  target: 'pg-app',
  scope: { roles },
  task: task(`pg-${randomBytes(3).toString('hex')}`),
  ...extra,
});

describe.skipIf(cluster === null)('postgres credentials over the HTTP API', () => {
  const c = cluster as PgCluster;
  let su: pg.Client;
  let broker: TargetBroker;
  let h: Harness;
  let agentA: string;
  const secrets: string[] = [ADMIN_PASSWORD];
  const sessions: pg.Client[] = [];

  async function connect(
    credential: PostgresCredential,
    options: { password?: string; database?: string } = {},
  ): Promise<pg.Client> {
    const client = new pg.Client({
      host: credential.host,
      port: credential.port,
      user: credential.username,
      password: options.password ?? credential.password,
      database: options.database ?? credential.database,
      connectionTimeoutMillis: 5_000,
    });
    // A terminated session reports here; the test inspects its next query instead.
    client.on('error', () => {});
    sessions.push(client);
    await client.connect();
    return client;
  }

  /** The SQLSTATE a fresh login attempt fails with, or `null` when it succeeds. */
  async function loginFailure(credential: PostgresCredential, password = credential.password) {
    try {
      const client = await connect(credential, { password });
      await client.end();
      return null;
    } catch (err) {
      return (err as { code?: string }).code ?? 'no code';
    }
  }

  /** Whether an open session still answers a query. */
  async function alive(session: pg.Client): Promise<boolean> {
    try {
      await session.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async function roleExists(role: string): Promise<boolean> {
    const { rows } = await su.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    return rows.length > 0;
  }

  const roles: AccountProbe<PostgresCredential, pg.Client> = {
    login: (credential) => connect(credential),
    alive,
    close: (session) => session.end(),
    exists: roleExists,
    loginFailure,
    refused: /^28P01$/,
  };

  async function prefixedRoles(): Promise<number> {
    const { rows } = await su.query<{ n: string }>(
      'SELECT count(*) AS n FROM pg_roles WHERE starts_with(rolname, $1)',
      [PREFIX],
    );
    return Number(rows[0]?.n);
  }

  const asSuperuser = (database: string, sql: string, params: unknown[] = []) =>
    c.asSuperuser(database, sql, params);

  beforeAll(async () => {
    su = new pg.Client(c.url('postgres'));
    await su.connect();
    // Exactly the PostgreSQL 15 grants docs/providers/postgres.md lists, nothing more.
    await createPgBrokerAdmin(su, { user: ADMIN, password: ADMIN_PASSWORD, owner: OWNER }, [
      'app_readonly',
      'app_readwrite',
      'app_audit',
    ]);
    await su.query('CREATE ROLE app_owner NOLOGIN');
    for (const database of DATABASES) {
      await su.query(`CREATE DATABASE ${database}`);
      await asSuperuser(
        database,
        `CREATE SCHEMA app AUTHORIZATION app_owner;
         CREATE TABLE app.items (id int PRIMARY KEY, name text NOT NULL);
         ALTER TABLE app.items OWNER TO app_owner;
         INSERT INTO app.items VALUES (1, 'first');
         CREATE TABLE app.x (id int);
         GRANT USAGE ON SCHEMA app TO app_readonly, app_readwrite, app_audit;
         GRANT SELECT ON app.items TO app_readonly, app_audit;
         GRANT SELECT, INSERT, UPDATE, DELETE ON app.items TO app_readwrite;
         GRANT CREATE ON SCHEMA app TO app_readwrite;`,
      );
    }

    broker = await startTargetBroker({
      store: 'redis',
      target: {
        name: 'pg-app',
        provider: 'postgres',
        admin_url: c.url('appdb', ADMIN, ADMIN_PASSWORD),
        databases: DATABASES,
        connect: { host: c.host, port: c.port, database: 'appdb' },
        roles: {
          app_readonly: { access: 'read' },
          app_readwrite: { access: 'write' },
          // Configured on the target, but no policy hands it out.
          app_audit: { access: 'read' },
        },
        reassign_to: OWNER,
        role_prefix: PREFIX,
      },
      policy: {
        name: 'agents-query-app',
        // tickets-api is tier `read`: the tier cap must keep app_readwrite from it.
        workloads: ['agent-a', 'agent-b', 'tickets-api'],
        target: 'pg-app',
        allow: { roles: ['app_readonly', 'app_readwrite'] },
        intents: ['report'],
        default_ttl: '5m',
        max_ttl: '15m',
      },
    });
    ({ h, agentA } = broker);
  });

  afterAll(async () => {
    await Promise.allSettled(sessions.map((s) => s.end()));
    await h?.close();
    await su?.end().catch(() => {});
    await c.stop();
  });

  it('a read-tier workload never gets a write-capable group role, whatever the policy says', async () => {
    const reader = await h.workloadToken('spiffe://test/tickets-api');
    expect(await refusedCredential(h, reader, request(['app_readwrite']))).toEqual({
      status: 403,
      code: 'policy_denied',
    });
    const denied = (await h.flushedEvents()).filter(
      (e) => e.type === 'credential.denied' && e.workload === 'tickets-api',
    );
    expect(JSON.stringify(denied.at(-1)?.detail)).toContain('tier_exceeded');
    const issued = await issueCredential<PostgresCredential>(
      h,
      reader,
      request(['app_readonly']),
      secrets,
    );
    const del = await h.request(`/v1/leases/${issued.lease_id}`, {
      method: 'DELETE',
      token: reader,
    });
    expect(del.status).toBe(200);
  });

  it('mints a login that connects with its password, not a wrong one, and reads but cannot write', async () => {
    const issued = await issueCredential<PostgresCredential>(
      h,
      agentA,
      request(['app_readonly']),
      secrets,
    );
    const { credential } = issued;
    expect(credential.username).toBe(`${PREFIX}${issued.lease_id.slice(4)}`);
    expect(credential).toMatchObject({ host: c.host, port: c.port, database: 'appdb' });
    expect(credential.expires_at).toBe(issued.expires_at);

    const session = await connect(credential);
    const { rows } = await session.query<{ who: string; name: string }>(
      'SELECT current_user AS who, name FROM app.items WHERE id = 1',
    );
    expect(rows).toEqual([{ who: credential.username, name: 'first' }]);
    await expect(session.query("INSERT INTO app.items VALUES (2, 'nope')")).rejects.toMatchObject({
      code: '42501',
    });
    await expect(session.query('CREATE TABLE app.mine (id int)')).rejects.toMatchObject({
      code: '42501',
    });
    await session.end();

    expect(await loginFailure(credential, `${credential.password.slice(0, -2)}xy`)).toBe('28P01');
    expect(await loginFailure(credential)).toBeNull();

    // The lease view never carries the credential.
    const view = await h.request(`/v1/leases/${issued.lease_id}`, { token: agentA });
    expect(JSON.stringify(await view.json())).not.toContain(credential.password);
    await revokeLease(h, agentA, issued.lease_id);
  });

  it('a read-write login writes through its group role', async () => {
    const { lease_id, credential } = await issueCredential<PostgresCredential>(
      h,
      agentA,
      request(['app_readwrite']),
      secrets,
    );
    const session = await connect(credential);
    const id = 1000 + Math.floor(Math.random() * 1000);
    await session.query('INSERT INTO app.items VALUES ($1, $2)', [id, 'written']);
    await session.query('DELETE FROM app.items WHERE id = $1', [id]);
    await session.end();
    await revokeLease(h, agentA, lease_id);
  });

  it('DELETE /v1/leases/{id} kills the open session, refuses new logins and drops the role', async () => {
    const { lease_id } = await expectRevokeEndsAccess(
      broker,
      secrets,
      roles,
      request(['app_readonly']),
      { sessionEndsWithinMs: 0 },
    );
    const revoked = (await h.flushedEvents()).find(
      (e) => e.type === 'lease.revoked' && e.lease_id === lease_id,
    );
    expect(revoked).toMatchObject({ outcome: 'success' });
  });

  it('a role that created tables is dropped on revoke; the tables survive under reassign_to', async () => {
    const { lease_id, credential } = await issueCredential<PostgresCredential>(
      h,
      agentA,
      request(['app_readwrite']),
      secrets,
    );
    const table = `made_by_${lease_id.slice(4, 14)}`;
    for (const database of DATABASES) {
      const session = await connect(credential, { database });
      await session.query(`CREATE TABLE app.${table} (id int)`);
      await session.query(`INSERT INTO app.${table} VALUES (42)`);
      await session.end();
    }
    const { rows: before } = await asSuperuser(
      'appdb',
      'SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = $2',
      ['app', table],
    );
    expect(before).toEqual([{ tableowner: credential.username }]);

    await revokeLease(h, agentA, lease_id);

    expect(await roleExists(credential.username)).toBe(false);
    for (const database of DATABASES) {
      const owner = await asSuperuser(
        database,
        'SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = $2',
        ['app', table],
      );
      expect(owner.rows).toEqual([{ tableowner: OWNER }]);
      const data = await asSuperuser(database, `SELECT id FROM app.${table}`);
      expect(data.rows).toEqual([{ id: 42 }]);
    }
  });

  it('the reaper drops the login when the lease expires and ends its open session', async () => {
    // VALID UNTIL only stops new logins; a dropped role and a dead session are the broker's work.
    const { lease_id } = await expectReaperEndsAccess(
      broker,
      secrets,
      roles,
      request(['app_readonly'], { ttl: 2 }),
      { removedWithinMs: 6_000, sessionEndsWithinMs: 0 },
    );
    const expired = (await h.flushedEvents()).find(
      (e) => e.type === 'lease.expired' && e.lease_id === lease_id,
    );
    expect(expired).toMatchObject({ outcome: 'success' });
  });

  it('the kill switch revokes both logins of agent-a in one call and leaves agent-b alone', async () => {
    await expectKillSwitchSparesBystander(
      broker,
      secrets,
      roles,
      [() => request(['app_readonly']), () => request(['app_readwrite'])],
      { sessionEndsWithinMs: 0 },
    );
  });

  it('refuses a role outside the ceiling (403) and a role carrying SQL (422) before any SQL runs', async () => {
    const logBefore = await c.readLog();
    const rolesBefore = await prefixedRoles();

    // Configured on the target, not in the policy's ceiling; and a role the target lacks.
    for (const role of ['app_audit', 'app_owner']) {
      expect(await refusedCredential(h, agentA, request([role]))).toEqual({
        status: 403,
        code: 'scope_exceeds_ceiling',
      });
    }
    expect(
      await refusedCredential(h, agentA, request(['app_readonly', 'app_audit'])),
    ).toMatchObject({ status: 403, code: 'scope_exceeds_ceiling' });
    for (const role of [
      'app_readonly; drop table x',
      'app_readonly"; DROP TABLE app.x; --',
      "app_readonly'; DROP TABLE app.x; --",
      'pg_read_server_files',
    ]) {
      expect(await refusedCredential(h, agentA, request([role]))).toEqual({
        status: 422,
        code: 'scope_invalid',
      });
    }

    const logAfter = (await c.readLog()).slice(logBefore.length);
    expect(logAfter).not.toMatch(/CREATE ROLE/i);
    expect(logAfter).not.toMatch(/drop table/i);
    expect(await prefixedRoles()).toBe(rolesBefore);
    const x = await asSuperuser('appdb', "SELECT to_regclass('app.x') AS t");
    expect(x.rows).toEqual([{ t: 'app.x' }]);
    const denied = (await h.flushedEvents()).filter((e) => e.type === 'credential.denied');
    expect(denied.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['scope_exceeds_ceiling', 'scope_invalid']),
    );

    // The control: a granted request does reach the log, so the silence above means something.
    const { lease_id, credential } = await issueCredential<PostgresCredential>(
      h,
      agentA,
      request(['app_readonly']),
      secrets,
    );
    expect((await c.readLog()).slice(logBefore.length)).toContain(
      `CREATE ROLE "${credential.username}"`,
    );
    await revokeLease(h, agentA, lease_id);
  });

  it('leaves no role behind and no password in events, broker logs or the server log', async () => {
    await expectNothingLeft(broker, secrets, prefixedRoles, 8);
    const serverLog = await c.readLog();
    for (const secret of secrets.slice(1)) expect(serverLog.includes(secret)).toBe(false);
  });
});
