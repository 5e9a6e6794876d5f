import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PostgresCredential,
  type PostgresProvider,
  postgresProviderFactory,
} from '../../providers/postgres/index.js';
import { startTargetBroker, type TargetBroker } from '../helpers/account-drills.js';
import { issueCredential, revokeWorkload } from '../helpers/lease-http.js';
import { createPgBrokerAdmin, type PgCluster, startPgCluster } from '../helpers/pg-cluster.js';
import { redisAvailable, requireService } from '../helpers/services.js';

/*
 * The kill switch over many PostgreSQL logins: the revoker hands them to the provider's
 * `revokeMany` in batches (a few statements for all of them), falls back to each lease's own
 * revocation when a batch fails, and each lease's `revoke` stays idempotent afterwards. A
 * private cluster with `log_statement=all` shows which statements ran.
 */

const cluster = (await requireService('redis', await redisAvailable()))
  ? await startPgCluster()
  : null;

const ADMIN = 'broker_admin';
const ADMIN_PASSWORD = randomBytes(18).toString('base64url');
const OWNER = 'broker_reclaimed';
const DATABASES = ['appdb', 'appdb2'];
/** Not listed on the target: an object a login creates here blocks its DROP ROLE. */
const UNLISTED = 'appdb3';
const PREFIX = 'jit_';
const LEASES = 24;

const request = () => ({
  target: 'pg-app',
  scope: { roles: ['app_readwrite'] },
  task: { id: `pg-${randomBytes(3).toString('hex')}`, intent: 'report' },
});

describe.skipIf(cluster === null)('postgres kill switch in batches', () => {
  const c = cluster as PgCluster;
  let su: pg.Client;
  let broker: TargetBroker;
  let provider: PostgresProvider;
  const secrets: string[] = [ADMIN_PASSWORD];
  const sessions: pg.Client[] = [];

  const targetConfig = () => ({
    name: 'pg-app',
    provider: 'postgres',
    admin_url: c.url('appdb', ADMIN, ADMIN_PASSWORD),
    databases: DATABASES,
    connect: { host: c.host, port: c.port, database: 'appdb' },
    roles: { app_readwrite: { access: 'write' } },
    reassign_to: OWNER,
    role_prefix: PREFIX,
  });

  async function connect(credential: PostgresCredential, database = credential.database) {
    const client = new pg.Client({
      host: credential.host,
      port: credential.port,
      user: credential.username,
      password: credential.password,
      database,
      connectionTimeoutMillis: 5_000,
    });
    client.on('error', () => {});
    sessions.push(client);
    await client.connect();
    return client;
  }

  const alive = (session: pg.Client) =>
    session.query('SELECT 1').then(
      () => true,
      () => false,
    );

  async function role(name: string): Promise<{ rolcanlogin: boolean } | undefined> {
    const { rows } = await su.query<{ rolcanlogin: boolean }>(
      'SELECT rolcanlogin FROM pg_roles WHERE rolname = $1',
      [name],
    );
    return rows[0];
  }

  const asSuperuser = (database: string, sql: string) => c.asSuperuser(database, sql);

  beforeAll(async () => {
    su = new pg.Client(c.url('postgres'));
    await su.connect();
    await createPgBrokerAdmin(su, { user: ADMIN, password: ADMIN_PASSWORD, owner: OWNER }, [
      'app_readwrite',
    ]);
    for (const database of [...DATABASES, UNLISTED]) {
      await su.query(`CREATE DATABASE ${database}`);
      await asSuperuser(
        database,
        `CREATE SCHEMA app;
         GRANT USAGE, CREATE ON SCHEMA app TO app_readwrite;`,
      );
    }
    broker = await startTargetBroker({
      store: 'redis',
      target: targetConfig(),
      policy: {
        name: 'agents-query-app',
        workloads: ['agent-a', 'agent-b'],
        target: 'pg-app',
        allow: { roles: ['app_readwrite'] },
        intents: ['report'],
        default_ttl: '5m',
        max_ttl: '15m',
      },
    });
    provider = postgresProviderFactory.create(targetConfig(), {
      brokerUrl: 'https://broker.test',
    }) as PostgresProvider;
  });

  afterAll(async () => {
    await Promise.allSettled(sessions.map((s) => s.end()));
    await provider?.close();
    await broker?.h.close();
    await su?.end().catch(() => {});
    await c.stop();
  });

  it('revokes every login of the workload in a few statements, ends their sessions, and each lease revoke afterwards is still success', async () => {
    const { h, agentA } = broker;
    const issued = [];
    for (let i = 0; i < LEASES; i += 1) {
      issued.push(await issueCredential<PostgresCredential>(h, agentA, request(), secrets));
    }
    const open = [];
    for (const lease of issued.slice(0, 6)) open.push(await connect(lease.credential));
    for (const session of open) expect(await alive(session)).toBe(true);
    const logBefore = (await c.readLog()).length;

    const counts = await revokeWorkload(h, 'agent-a');

    expect(counts).toMatchObject({ revoked: LEASES, revoking: 0, failed: 0 });
    for (const lease of issued) expect(await role(lease.credential.username)).toBeUndefined();
    for (const session of open) expect(await alive(session)).toBe(false);
    // One DROP ROLE named several logins: the batch ran, not one revocation per lease.
    const log = (await c.readLog()).slice(logBefore);
    const drops = [...log.matchAll(/DROP ROLE IF EXISTS ([^\n]+)/g)].map(
      (m) => (m[1] ?? '').split(', ').length,
    );
    expect(Math.max(...drops)).toBeGreaterThan(1);
    expect(drops.length).toBeLessThan(LEASES);

    for (const lease of issued) await provider.revoke({}, lease.lease_id);
  });

  it('a batch that fails is revoked lease by lease: the others go, the blocked login is left dead', async () => {
    const { h, agentB } = broker;
    const issued = [];
    for (let i = 0; i < 5; i += 1) {
      issued.push(await issueCredential<PostgresCredential>(h, agentB, request(), secrets));
    }
    const [blocker] = issued;
    if (blocker === undefined) throw new Error('nothing issued');
    // A table in a database the target does not list: DROP ROLE of the batch fails on it.
    const stray = await connect(blocker.credential, UNLISTED);
    await stray.query('CREATE TABLE app.stray (id int)');
    await stray.end();

    const counts = await revokeWorkload(h, 'agent-b');

    expect(counts.revoked).toBe(issued.length - 1);
    expect(counts.failed + counts.revoking).toBe(1);
    for (const lease of issued.slice(1)) {
      expect(await role(lease.credential.username)).toBeUndefined();
    }
    expect(await role(blocker.credential.username)).toEqual({ rolcanlogin: false });

    await asSuperuser(UNLISTED, 'DROP TABLE app.stray');
    await provider.revoke({}, blocker.lease_id);
    expect(await role(blocker.credential.username)).toBeUndefined();
  });

  it('revokeMany leaves a lease whose handle names another lease’s login, and touches neither', async () => {
    const { h, agentA } = broker;
    const mine = await issueCredential<PostgresCredential>(h, agentA, request(), secrets);
    const other = await issueCredential<PostgresCredential>(h, agentA, request(), secrets);

    const left = await provider.revokeMany?.([
      { handle: { role: other.credential.username }, leaseId: mine.lease_id },
    ]);

    expect(left).toEqual([mine.lease_id]);
    expect(await role(mine.credential.username)).toEqual({ rolcanlogin: true });
    expect(await role(other.credential.username)).toEqual({ rolcanlogin: true });
    expect(
      await provider.revokeMany?.([
        { handle: { role: mine.credential.username }, leaseId: mine.lease_id },
        { handle: {}, leaseId: other.lease_id },
      ]),
    ).toEqual([]);
    expect(await role(mine.credential.username)).toBeUndefined();
    expect(await role(other.credential.username)).toBeUndefined();
    await revokeWorkload(h, 'agent-a');
  });
});
