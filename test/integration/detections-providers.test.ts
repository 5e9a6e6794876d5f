import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { eventually, expectNoSecretOutput, leaseState } from '../helpers/lease-http.js';
import {
  createBrokerAdmin,
  dropAccounts,
  mysqlAccountExists,
  mysqlAvailable,
} from '../helpers/mariadb.js';
import { aclUserExists } from '../helpers/redis-acl.js';
import { type RedisProc, startOrSkip, startRedis } from '../helpers/redis-procs.js';
import { MYSQL_URL, PG_URL, redisAvailable, requireService } from '../helpers/services.js';

/*
 * A scope-escalation detection blocks a workload holding credentials on every provider of
 * the test setup (jwt, PostgreSQL, MariaDB, a dedicated Redis for ACL users): the kill
 * switch it pulls ends every lease, and the accounts are gone at each target.
 */

async function pgAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 1500 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

const ready =
  (await requireService('redis', await redisAvailable())) &&
  (await requireService('postgresql', await pgAvailable())) &&
  (await requireService('mariadb', await mysqlAvailable()));
const node = ready ? await startOrSkip('dedicated redis-server', () => startRedis()) : null;

const tag = randomBytes(3).toString('hex');
const PG_PREFIX = `jitdet${tag}_`;
const PG_GROUP = `jitdet${tag}reader`;
const PG_OWNER = `jitdet${tag}owner`;
const MY_ADMIN = `jitdet${tag}`;
const MY_PASSWORD = randomBytes(18).toString('base64url');
const MY_PREFIX = `jd${tag.slice(0, 2)}`;
const MY_DB = `jitdet_${tag}`;
const RD_ADMIN = 'jit-broker';
const RD_PASSWORD = randomBytes(18).toString('base64url');

describe.skipIf(node === null)('a detection that blocks, on every provider', () => {
  const { port } = node as RedisProc;
  let h: Harness;
  let su: pg.Client;
  let root: mysql.Connection;
  let rd: Redis;
  const secrets: string[] = [MY_PASSWORD, RD_PASSWORD];

  beforeAll(async () => {
    su = new pg.Client(PG_URL);
    await su.connect();
    await su.query(`CREATE ROLE ${PG_GROUP} NOLOGIN; CREATE ROLE ${PG_OWNER} NOLOGIN;`);
    root = await mysql.createConnection({ uri: MYSQL_URL });
    await root.query(`CREATE DATABASE ${mysql.escapeId(MY_DB)}`);
    await createBrokerAdmin(root, { user: MY_ADMIN, password: MY_PASSWORD }, MY_DB, 'SELECT');
    rd = new Redis({ host: '127.0.0.1', port });
    await rd.call(
      'ACL',
      'SETUSER',
      RD_ADMIN,
      'on',
      `>${RD_PASSWORD}`,
      'resetkeys',
      'resetchannels',
      '-@all',
      '+acl|setuser',
      '+acl|deluser',
      '+acl|users',
      '+ping',
    );
    const policy = (name: string, target: string, allow: unknown) => ({
      name,
      workloads: ['agent-a'],
      target,
      allow,
      intents: ['triage'],
      default_ttl: '5m',
      max_ttl: '15m',
    });
    h = await startHarness({
      store: 'redis',
      configure(raw) {
        (raw.targets as unknown[]).push(
          {
            name: 'pg-app',
            provider: 'postgres',
            admin_url: PG_URL,
            databases: ['test'],
            connect: { host: '127.0.0.1', port: 5432, database: 'test' },
            roles: { [PG_GROUP]: { access: 'read' } },
            reassign_to: PG_OWNER,
            role_prefix: PG_PREFIX,
          },
          {
            name: 'my-app',
            provider: 'mysql',
            admin_url: `mysql://${MY_ADMIN}:${MY_PASSWORD}@127.0.0.1:3306/`,
            flavor: 'mariadb',
            connect: { host: '127.0.0.1', port: 3306, database: MY_DB },
            privilege_sets: { read: { grants: [`SELECT ON ${MY_DB}.*`] } },
            user_prefix: MY_PREFIX,
          },
          {
            name: 'rd-cache',
            provider: 'redis',
            nodes: [{ host: '127.0.0.1', port }],
            admin_username: RD_ADMIN,
            admin_password: RD_PASSWORD,
            connect: { host: '127.0.0.1', port },
            user_prefix: 'jit_',
          },
        );
        (raw.policies as unknown[]).push(
          policy('a-pg', 'pg-app', { roles: [PG_GROUP] }),
          policy('a-my', 'my-app', { privilege_sets: ['read'] }),
          policy('a-rd', 'rd-cache', { keys: ['cache:*'], categories: ['read'] }),
        );
        raw.detections = [
          {
            name: 'escalation',
            kind: 'scope_escalation',
            count: 3,
            window: '1m',
            actions: ['alert', 'block'],
          },
        ];
      },
    });
  });

  afterAll(async () => {
    await h?.close();
    await su?.query(`DROP ROLE IF EXISTS ${PG_GROUP}; DROP ROLE IF EXISTS ${PG_OWNER};`);
    await su?.end();
    if (root) {
      await dropAccounts(root, MY_PREFIX, MY_ADMIN);
      await root.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(MY_DB)}`);
      await root.end();
    }
    rd?.disconnect();
    await (node as RedisProc | null)?.stop();
  });

  it('revokes the workload’s leases at every target within the rule’s window', async () => {
    const agent = await h.workloadToken('spiffe://test/agent-a');
    const ask = (target: string, scope: unknown, id: string) =>
      h.request('/v1/credentials', {
        method: 'POST',
        token: agent,
        json: { target, scope, task: { id, intent: 'triage' } },
      });
    const leases: { id: string; target: string; username?: string }[] = [];
    for (const [target, scope] of [
      ['tickets', { scopes: ['tickets:read'] }],
      ['pg-app', { roles: [PG_GROUP] }],
      ['my-app', { privilege_sets: ['read'] }],
      ['rd-cache', { keys: ['cache:*'], categories: ['read'] }],
    ] as const) {
      const res = await ask(target, scope, `t-${target}`);
      const body = (await res.json()) as {
        lease_id: string;
        credential: { username?: string; password?: string };
      };
      expect(res.status, JSON.stringify(body)).toBe(201);
      if (body.credential.password) secrets.push(body.credential.password);
      leases.push({
        id: body.lease_id,
        target,
        ...(body.credential.username ? { username: body.credential.username } : {}),
      });
    }
    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      expect((await ask('pg-app', { roles: ['postgres'] }, `esc-${i}`)).status).toBe(403);
    }
    const viewer = await h.operatorToken(['viewer']);
    // Within the rule's window (1 minute) of the first attempt.
    const allRevoked = async () => {
      for (const lease of leases)
        if ((await leaseState(h, viewer, lease.id)) !== 'revoked') return false;
      return true;
    };
    expect(await eventually(allRevoked, 60_000 - (Date.now() - started))).toBe(true);

    const pgUser = leases.find((l) => l.target === 'pg-app')?.username as string;
    const myUser = leases.find((l) => l.target === 'my-app')?.username as string;
    const rdUser = leases.find((l) => l.target === 'rd-cache')?.username as string;
    const roles = await su.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [pgUser]);
    expect(roles.rowCount).toBe(0);
    expect(await mysqlAccountExists(root, myUser)).toBe(false);
    expect(await aclUserExists(rd, rdUser)).toBe(false);

    const events = await h.flushedEvents();
    const fired = events.filter((e) => e.type === 'detection.fired');
    expect(fired).toHaveLength(1);
    expect(fired[0]?.detail).toMatchObject({ taken: { block: { revoked: 4, failed: 0 } } });
    expect(events.find((e) => e.type === 'workload.blocked')).toMatchObject({
      workload: 'agent-a',
      reason: 'detection:escalation',
    });
    expectNoSecretOutput(h, secrets);
  });
});
