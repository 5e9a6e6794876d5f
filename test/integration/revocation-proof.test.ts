import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Connection } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RevocationReceipt } from '../../src/revocation/receipt.js';
import { type AwsFake, startAwsFake } from '../fakes/aws.js';
import { type GitHubFake, startGitHubFake } from '../fakes/github.js';
import { held } from '../fixtures/keeping-provider.js';
import { awsTarget, useBrokerCredentials } from '../helpers/aws-fake-target.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { githubTarget } from '../helpers/github-fake-target.js';
import { expectNoSecretOutput, revokeWorkload } from '../helpers/lease-http.js';
import { dropAccounts, mysqlAccountExists, mysqlAvailable } from '../helpers/mariadb.js';
import { type RedisProc, startOrSkip, startRedis } from '../helpers/redis-procs.js';
import {
  MYSQL_URL,
  PG_URL,
  pgAvailable,
  redisAvailable,
  requireService,
} from '../helpers/services.js';

/*
 * Proof of revocation end to end: a broker with one target of every provider kind (the
 * machine's PostgreSQL and MariaDB, a dedicated redis-server for ACL users, the GitHub and AWS
 * fakes, the jwt target) and provider modules, its lease store in Redis. After a kill switch
 * each target is asked whether the credential is gone, and the receipt says what each answered.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const KEEPER = resolve(ROOT, 'test/fixtures/keeping-provider.ts');

const services =
  (await requireService('redis', await redisAvailable())) &&
  (await requireService('postgresql', await pgAvailable())) &&
  (await requireService('mariadb', await mysqlAvailable()));
const aclNode = services ? await startOrSkip('dedicated redis-server', () => startRedis()) : null;

const run = randomBytes(3).toString('hex');
const PG_PREFIX = `jitrp${run}_`;
const PG_GROUP = `jitrp${run}reader`;
const PG_OWNER = `jitrp${run}owner`;
const MYSQL_DB = `jitrp_${run}`;
const MYSQL_PREFIX = 'jrp_';
const INTENT = 'proof';
/** The credential fields that are secrets (a login name is not). */
const SECRET_FIELDS = ['password', 'token', 'secret_access_key', 'session_token'];

interface Issued {
  lease_id: string;
  credential: Record<string, unknown>;
}

describe.skipIf(!services || aclNode === null)('proof of revocation', () => {
  let h: Harness;
  let github: GitHubFake;
  let aws: AwsFake;
  let su: pg.Client;
  let root: Connection;
  const tokens: Record<string, string> = {};
  const secrets: string[] = [];

  const requests: Record<string, { scope: object; intent?: string }> = {
    tickets: { scope: { scopes: ['tickets:read'] }, intent: 'triage' },
    'pg-proof': { scope: { roles: [PG_GROUP] } },
    'mysql-proof': { scope: { privilege_sets: ['read'] } },
    'redis-proof': { scope: { keys: ['cache:*'], categories: ['read'] } },
    'github-proof': { scope: { repositories: ['acme/api'], permissions: { contents: 'read' } } },
    'aws-reports': {
      scope: { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::reports-2026/*'] },
    },
    'module-ok': { scope: { name: 'db' } },
    'module-keeps': { scope: { name: 'db' } },
    'module-silent': { scope: { name: 'db' } },
  };

  async function issue(workload: string, target: string): Promise<Issued> {
    const request = requests[target] as { scope: object; intent?: string };
    const res = await h.request('/v1/credentials', {
      method: 'POST',
      token: tokens[workload] as string,
      json: {
        target,
        scope: request.scope,
        task: { id: `rp-${randomBytes(3).toString('hex')}`, intent: request.intent ?? INTENT },
      },
    });
    const body = (await res.json()) as Issued & { code?: string; detail?: string };
    expect(res.status, `${target}: ${body.code} ${body.detail ?? ''}`).toBe(201);
    for (const field of SECRET_FIELDS) {
      const value = body.credential[field];
      if (typeof value === 'string') secrets.push(value);
    }
    return body;
  }

  async function receipt(workload: string): Promise<Response> {
    return h.request(`/v1/workloads/${workload}/revocation-receipt`, {
      token: await h.operatorToken(['viewer']),
    });
  }

  async function settledReceipt(workload: string): Promise<RevocationReceipt> {
    await h.broker.verifier.idle();
    await h.broker.events.flush();
    // The recorder writes in the background: poll until the answer and every mark are in.
    for (let i = 0; i < 50; i++) {
      const res = await receipt(workload);
      expect(res.status).toBe(200);
      const body = (await res.json()) as RevocationReceipt;
      const marks = body.verification.verified + body.verification.unverified;
      if (
        body.counts !== undefined &&
        marks + body.verification.unverifiable >= (expected[workload] ?? 1)
      ) {
        return body;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the receipt of ${workload} never settled`);
  }
  const expected: Record<string, number> = {};

  beforeAll(async () => {
    github = await startGitHubFake({ owner: 'acme', repositories: ['api', 'web'] });
    aws = await startAwsFake();
    const role = aws.createRole();
    useBrokerCredentials(aws);
    secrets.push(aws.brokerCredentials.secretAccessKey);
    su = new pg.Client(PG_URL);
    await su.connect();
    await su.query(`CREATE ROLE ${PG_GROUP} NOLOGIN; CREATE ROLE ${PG_OWNER} NOLOGIN;`);
    root = await mysql.createConnection({ uri: MYSQL_URL });
    await root.query(`CREATE DATABASE ${mysql.escapeId(MYSQL_DB)}`);
    const acl = aclNode as RedisProc;

    h = await startHarness({
      store: 'redis',
      allowProviderModules: true,
      configure(raw) {
        (raw.targets as unknown[]).push(
          {
            name: 'pg-proof',
            provider: 'postgres',
            admin_url: PG_URL,
            databases: ['test'],
            connect: { host: '127.0.0.1', port: 5432, database: 'test' },
            roles: { [PG_GROUP]: { access: 'read' } },
            reassign_to: PG_OWNER,
            role_prefix: PG_PREFIX,
          },
          {
            name: 'mysql-proof',
            provider: 'mysql',
            admin_url: MYSQL_URL.replace(/\/test$/, '/'),
            flavor: 'mariadb',
            connect: { host: '127.0.0.1', port: 3306, database: MYSQL_DB },
            privilege_sets: { read: { grants: [`SELECT ON ${MYSQL_DB}.*`] } },
            user_prefix: MYSQL_PREFIX,
          },
          {
            name: 'redis-proof',
            provider: 'redis',
            nodes: [{ host: '127.0.0.1', port: acl.port }],
            connect: { host: '127.0.0.1', port: acl.port },
            user_prefix: 'jrp_',
          },
          githubTarget(github, 'github-proof'),
          awsTarget(aws, role.arn),
          { name: 'module-ok', provider: 'module', module: KEEPER },
          { name: 'module-keeps', provider: 'module', module: KEEPER, keeps: true },
          { name: 'module-silent', provider: 'module', module: KEEPER, verifiable: false },
        );
        const allow: Record<string, object> = {
          'pg-proof': { roles: [PG_GROUP] },
          'mysql-proof': { privilege_sets: ['read'] },
          'redis-proof': { keys: ['cache:*'], categories: ['read'] },
          'github-proof': { repositories: ['acme/*'], permissions: { contents: 'read' } },
          'aws-reports': { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::reports-*'] },
          'module-ok': { names: ['db'] },
          'module-keeps': { names: ['db'] },
          'module-silent': { names: ['db'] },
        };
        for (const [target, ceiling] of Object.entries(allow)) {
          (raw.policies as unknown[]).push({
            name: `proof-${target}`,
            workloads: ['agent-a', 'agent-b'],
            target,
            allow: ceiling,
            intents: [INTENT],
            default_ttl: '5m',
            max_ttl: '15m',
          });
        }
      },
    });
    for (const id of ['agent-a', 'agent-b']) {
      tokens[id] = await h.workloadToken(`spiffe://test/${id}`);
    }
  });

  afterAll(async () => {
    await h?.close();
    await github?.close();
    await aws?.close();
    await aclNode?.destroy();
    if (su !== undefined) {
      const { rows } = await su.query<{ rolname: string }>(
        'SELECT rolname FROM pg_roles WHERE rolname LIKE $1',
        [`${PG_PREFIX}%`],
      );
      for (const { rolname } of rows) await su.query(`DROP ROLE IF EXISTS "${rolname}"`);
      await su.query(`DROP ROLE IF EXISTS ${PG_GROUP}; DROP ROLE IF EXISTS ${PG_OWNER};`);
      await su.end();
    }
    if (root !== undefined) {
      await dropAccounts(root, MYSQL_PREFIX, '');
      await root.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(MYSQL_DB)}`);
      await root.end();
    }
  });

  it('a kill switch leaves a receipt verified at every provider, naming the events by chain position', async () => {
    const verifiable = [
      'tickets',
      'pg-proof',
      'mysql-proof',
      'redis-proof',
      'github-proof',
      'aws-reports',
      'module-ok',
    ];
    const issued: Record<string, Issued> = {};
    for (const target of [...verifiable, 'module-silent']) {
      issued[target] = await issue('agent-a', target);
    }
    expected['agent-a'] = verifiable.length + 1;
    const mysqlUser = String(issued['mysql-proof']?.credential.username);
    expect(await mysqlAccountExists(root, mysqlUser)).toBe(true);

    const answer = await revokeWorkload(h, 'agent-a');
    expect(answer.revoked + answer.revoking).toBe(verifiable.length + 1);
    const body = await settledReceipt('agent-a');

    expect(body).toMatchObject({
      workload: 'agent-a',
      by: 'alice@example.com',
      reason: 'db credential incident drill',
      blocked: false,
      counts: { revoked: verifiable.length + 1, failed: 0, pending: 0 },
    });
    expect(body.verification).toMatchObject({
      verified: verifiable.length,
      unverified: 0,
      unverifiable: 1,
    });
    const rows = Object.fromEntries(body.verification.targets.map((t) => [t.target, t]));
    for (const target of verifiable) {
      expect(rows[target], target).toMatchObject({ verified: 1, unverified: 0, unverifiable: 0 });
    }
    expect(rows['module-silent']).toMatchObject({ provider: 'module', unverifiable: 1 });
    expect(rows['pg-proof']?.provider).toBe('postgres');
    // What the receipt proves is true at the targets themselves.
    expect(await mysqlAccountExists(root, mysqlUser)).toBe(false);
    const pgRole = String(issued['pg-proof']?.credential.username);
    expect((await su.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [pgRole])).rowCount).toBe(
      0,
    );
    expect(github.liveTokens()).toHaveLength(0);

    // The chain positions are those of the events the broker emitted.
    const events = await h.flushedEvents();
    const revoked = events.filter((e) => e.type === 'workload.revoked' && e.workload === 'agent-a');
    expect(revoked).toHaveLength(1);
    expect(body.events.workload_revoked).toEqual({
      instance: revoked[0]?.instance,
      seq: revoked[0]?.seq,
    });
    const verifications = events.filter(
      (e) => e.type.startsWith('revocation.') && e.workload === 'agent-a',
    );
    expect(verifications).toHaveLength(verifiable.length + 1);
    const byPosition = (x: { instance: string; seq: number }) => `${x.instance}#${x.seq}`;
    expect(body.events.verifications.map(byPosition).sort()).toEqual(
      verifications.map(byPosition).sort(),
    );
    for (const ref of body.events.verifications) {
      const event = verifications.find((e) => e.seq === ref.seq && e.instance === ref.instance);
      expect(event?.lease_id).toBe(ref.lease_id);
      expect(event?.target).toBe(ref.target);
      expect(event?.detail?.verification).toBe(ref.status);
      expect(event?.lease_id).toBe(issued[ref.target]?.lease_id);
    }
    const evidence = (target: string) =>
      String(verifications.find((e) => e.target === target)?.detail?.evidence);
    expect(evidence('pg-proof')).toMatch(/0 in pg_roles, 0 session/);
    expect(evidence('mysql-proof')).toMatch(/0 in mysql\.user, 0 thread/);
    expect(evidence('redis-proof')).toMatch(/present on 0 of 1 node/);
    expect(evidence('github-proof')).toMatch(/answered 401/);
    expect(evidence('aws-reports')).toMatch(/denies/);
    expect(evidence('tickets')).toMatch(/introspection answers inactive/);
    expect(verifications.find((e) => e.target === 'module-silent')).toMatchObject({
      type: 'revocation.unverifiable',
      severity: 'low',
    });

    // No secret in the events, the logs or the receipt.
    expectNoSecretOutput(h, secrets);
    const text = JSON.stringify(body);
    for (const secret of secrets) expect(text.includes(secret)).toBe(false);
  });

  it('a target that keeps the credential leaves the receipt unverified, with the evidence, a high event and the metric', async () => {
    const kept = await issue('agent-b', 'module-keeps');
    const token = await issue('agent-b', 'github-proof');
    expected['agent-b'] = 2;
    // GitHub answers the revocation but keeps the token (told to ignore the delete).
    github.failNext({ method: 'DELETE', path: '/installation/token' }, { status: 204 });

    await revokeWorkload(h, 'agent-b');
    const body = await settledReceipt('agent-b');
    expect(body.verification).toMatchObject({ verified: 0, unverified: 2, unverifiable: 0 });
    expect(held.has(kept.lease_id)).toBe(true);
    expect(github.liveTokens()).toHaveLength(1);

    const events = await h.flushedEvents();
    const unverified = events.filter(
      (e) => e.type === 'revocation.unverified' && e.workload === 'agent-b',
    );
    expect(unverified).toHaveLength(2);
    for (const event of unverified) {
      expect(event.severity).toBe('high');
      expect(event.outcome).toBe('failure');
    }
    const evidence = Object.fromEntries(
      unverified.map((e) => [e.lease_id, String(e.detail?.evidence)]),
    );
    expect(evidence[kept.lease_id]).toMatch(/still held/);
    expect(evidence[token.lease_id]).toMatch(/answered 200: the token still works/);

    const metrics = await h.broker.metrics.registry
      .getSingleMetric('jit_revocation_verifications_total')
      ?.get();
    const count = (target: string, status: string) =>
      metrics?.values.find((v) => v.labels.target === target && v.labels.status === status)
        ?.value ?? 0;
    expect(count('module-keeps', 'unverified')).toBe(1);
    expect(count('github-proof', 'unverified')).toBe(1);
    expectNoSecretOutput(h, secrets);
    expect(JSON.stringify(body)).not.toContain(String(token.credential.token));
  });

  it('a workload with no kill switch has no receipt: 404 receipt_not_found; a workload cannot read one', async () => {
    const res = await receipt('tickets-api');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await res.json()).toMatchObject({ code: 'receipt_not_found', status: 404 });

    const asWorkload = await h.request('/v1/workloads/agent-a/revocation-receipt', {
      token: tokens['agent-a'] as string,
    });
    expect([401, 403]).toContain(asWorkload.status);
  });
});
