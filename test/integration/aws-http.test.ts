import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AwsCredential } from '../../providers/aws/index.js';
import { type AwsFake, type AwsFakeRole, startAwsFake } from '../fakes/aws.js';
import { awsTarget, useBrokerCredentials } from '../helpers/aws-fake-target.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import {
  eventually,
  expectNoSecretOutput,
  leaseState,
  refusedCredential,
  revokeLease,
  revokeWorkload,
} from '../helpers/lease-http.js';
import { PG_URL, pgAvailable, redisAvailable, requireService } from '../helpers/services.js';

/*
 * The aws provider end to end: the broker's HTTP API, the real @aws-sdk/client-sts and
 * client-iam, and an STS/IAM fake whose evaluator (iam-simulate) decides what each session
 * may do at a given time under the role's policies, the broker's Deny policy and the
 * session policy.
 */

const DENY_POLICY = 'jit-broker-revocations';
const BUCKET = 'arn:aws:s3:::reports-2026';
const OBJECT = `${BUCKET}/q3.csv`;

const services =
  (await requireService('redis', await redisAvailable())) &&
  (await requireService('postgresql', await pgAvailable()));

interface Issued {
  lease_id: string;
  expires_at: string;
  credential: AwsCredential;
}

const task = (intent = 'report') => ({ id: `aws-${randomBytes(3).toString('hex')}`, intent });
const s3Request = (extra: Record<string, unknown> = {}) => ({
  target: 'aws-reports',
  scope: { actions: ['s3:GetObject'], resources: [`${BUCKET}/*`] },
  task: task(),
  ...extra,
});

const awsPolicy = (workloads: string[]) => ({
  name: 'agents-read-reports',
  workloads,
  target: 'aws-reports',
  allow: {
    actions: ['s3:GetObject', 's3:ListBucket', 's3:PutObject', 's3:PutBucketPolicy'],
    resources: ['arn:aws:s3:::reports-*'],
  },
  intents: ['report'],
  default_ttl: '5m',
  max_ttl: '15m',
});

async function issue(h: Harness, token: string, body: object, secrets: string[]): Promise<Issued> {
  const res = await h.request('/v1/credentials', { method: 'POST', token, json: body });
  const payload = (await res.json()) as Issued & { code?: string; detail?: string };
  expect(res.status, `credential refused: ${payload.code} ${payload.detail ?? ''}`).toBe(201);
  const { credential } = payload;
  secrets.push(credential.access_key_id, credential.secret_access_key, credential.session_token);
  return payload;
}

describe.skipIf(!services)('aws sessions over the HTTP API', () => {
  let fake: AwsFake;
  let role: AwsFakeRole;
  let h: Harness;
  const tokens: Record<string, string> = {};
  const secrets: string[] = [];
  const pgPrefix = `jitaws${randomBytes(3).toString('hex')}_`;
  const pgGroup = `${pgPrefix.slice(0, -1)}reader`;
  const pgOwner = `${pgPrefix.slice(0, -1)}owner`;
  let su: pg.Client;

  const may = (credential: AwsCredential, action: string, resource: string, at?: number) =>
    fake.check({
      accessKeyId: credential.access_key_id,
      action,
      resource,
      ...(at === undefined ? {} : { at }),
    });

  beforeAll(async () => {
    fake = await startAwsFake();
    role = fake.createRole();
    useBrokerCredentials(fake);
    secrets.push(fake.brokerCredentials.secretAccessKey);
    su = new pg.Client(PG_URL);
    await su.connect();
    await su.query(`CREATE ROLE ${pgGroup} NOLOGIN; CREATE ROLE ${pgOwner} NOLOGIN;`);
    h = await startHarness({
      store: 'redis',
      configure(raw) {
        const workloads = raw.workloads as Record<string, unknown>[];
        for (const id of ['agent-c', 'agent-d']) {
          workloads.push({ id, issuer: 'test', subject: `spiffe://test/${id}`, tier: 'write' });
        }
        (raw.targets as unknown[]).push(awsTarget(fake, role.arn), {
          name: 'pg-test',
          provider: 'postgres',
          admin_url: PG_URL,
          databases: ['test'],
          connect: { host: '127.0.0.1', port: 5432, database: 'test' },
          roles: { [pgGroup]: { access: 'read' } },
          reassign_to: pgOwner,
          role_prefix: pgPrefix,
        });
        const policies = raw.policies as Record<string, unknown>[];
        policies.push(awsPolicy(['agent-a', 'agent-b', 'agent-c', 'agent-d', 'tickets-api']), {
          name: 'agent-d-queries',
          workloads: ['agent-d'],
          target: 'pg-test',
          allow: { roles: [pgGroup] },
          intents: ['report'],
          default_ttl: '5m',
          max_ttl: '15m',
        });
        (policies[0] as { workloads: string[] }).workloads.push('agent-d');
      },
    });
    for (const id of ['agent-a', 'agent-b', 'agent-c', 'agent-d', 'tickets-api']) {
      tokens[id] = await h.workloadToken(`spiffe://test/${id}`);
    }
  });

  afterAll(async () => {
    await h?.close();
    await fake?.close();
    await su?.query(`DROP ROLE IF EXISTS ${pgGroup}; DROP ROLE IF EXISTS ${pgOwner};`);
    await su?.end();
  });

  it('mints a session for one action on one bucket that the session policy ends at expires_at', async () => {
    const before = fake.calls('AssumeRole');
    const issued = await issue(h, tokens['agent-a'] as string, s3Request(), secrets);
    expect(fake.calls('AssumeRole')).toBe(before + 1);
    const { credential } = issued;
    expect(credential).toMatchObject({ region: 'eu-west-1', role_arn: role.arn });
    expect(credential.expires_at).toBe(issued.expires_at);
    const expiresAt = Date.parse(credential.expires_at);
    const sessionExpiresAt = Date.parse(credential.session_expires_at);
    // STS keeps the session for at least 15 minutes; the lease is 5.
    expect(sessionExpiresAt - expiresAt).toBeGreaterThan(5 * 60_000);

    const session = fake.sessions().find((s) => s.accessKeyId === credential.access_key_id);
    expect(session).toMatchObject({
      sessionName: issued.lease_id,
      sourceIdentity: 'agent-a',
      tags: { 'jit-workload': 'agent-a', 'jit-lease': issued.lease_id },
      durationSeconds: 900,
    });
    expect(session?.policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'JitGrant',
          Effect: 'Allow',
          Action: ['s3:GetObject'],
          Resource: [`${BUCKET}/*`],
          Condition: { DateLessThan: { 'aws:CurrentTime': credential.expires_at } },
        },
      ],
    });

    // No Deny policy exists: what follows is the session policy's doing alone.
    expect(fake.rolePolicy(role.name, DENY_POLICY)).toBeUndefined();
    expect(await may(credential, 's3:GetObject', OBJECT)).toBe('Allowed');
    expect(await may(credential, 's3:GetObject', OBJECT, expiresAt - 1_000)).toBe('Allowed');
    expect(await may(credential, 's3:GetObject', OBJECT, expiresAt + 1_000)).toBe(
      'ImplicitlyDenied',
    );
    expect(await may(credential, 's3:PutObject', OBJECT)).toBe('ImplicitlyDenied');
    expect(await may(credential, 's3:GetObject', 'arn:aws:s3:::other/q3.csv')).toBe(
      'ImplicitlyDenied',
    );
  });

  it('refuses, before any AWS call, what lies outside the ceiling, the tier or the grammar', async () => {
    const before = fake.callCounts();
    const agentA = tokens['agent-a'] as string;
    const asked = (scope: object, token = agentA) =>
      refusedCredential(h, token, { ...s3Request(), scope });
    // An action the ceiling does not list.
    expect(await asked({ actions: ['s3:DeleteObject'], resources: [`${BUCKET}/*`] })).toEqual({
      status: 403,
      code: 'scope_exceeds_ceiling',
    });
    // A wildcard that expands beyond the ceiling.
    expect(await asked({ actions: ['s3:GetObject*'], resources: [`${BUCKET}/*`] })).toEqual({
      status: 403,
      code: 'scope_exceeds_ceiling',
    });
    // A resource pattern broader than the ceiling's.
    expect(await asked({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::*'] })).toEqual({
      status: 403,
      code: 'scope_exceeds_ceiling',
    });
    expect(await asked({ actions: ['s3:GetObject'], resources: ['*'] })).toEqual({
      status: 403,
      code: 'scope_exceeds_ceiling',
    });
    // NotAction and NotResource are refused outright.
    expect(
      await asked({ actions: ['s3:GetObject'], resources: [`${BUCKET}/*`], NotAction: ['s3:*'] }),
    ).toEqual({ status: 422, code: 'scope_invalid' });
    expect(
      await asked({ actions: ['s3:GetObject'], resources: [`${BUCKET}/*`], NotResource: ['*'] }),
    ).toEqual({ status: 422, code: 'scope_invalid' });
    // A Write action for a read-tier workload, and Permissions management below admin.
    expect(
      await asked(
        { actions: ['s3:PutObject'], resources: [`${BUCKET}/*`] },
        tokens['tickets-api'] as string,
      ),
    ).toEqual({ status: 403, code: 'policy_denied' });
    expect(await asked({ actions: ['s3:PutBucketPolicy'], resources: [BUCKET] })).toEqual({
      status: 403,
      code: 'policy_denied',
    });
    const reasons = (await h.flushedEvents())
      .filter((e) => e.type === 'credential.denied')
      .map((e) => JSON.stringify(e));
    expect(reasons.some((r) => r.includes('s3:PutObject is a Write action'))).toBe(true);
    expect(
      reasons.some((r) => r.includes('s3:PutBucketPolicy is a Permissions management action')),
    ).toBe(true);
    // The expiry condition is the broker's; STS actions would let a session outlive revocation.
    expect(
      await asked({
        actions: ['s3:GetObject'],
        resources: [`${BUCKET}/*`],
        conditions: { DateLessThan: { 'aws:CurrentTime': '2099-01-01T00:00:00Z' } },
      }),
    ).toEqual({ status: 422, code: 'scope_invalid' });
    expect(await asked({ actions: ['sts:AssumeRole'], resources: ['*'] })).toEqual({
      status: 422,
      code: 'scope_invalid',
    });
    // An action AWS does not have, and a session policy beyond AWS's 2,048 characters.
    expect(await asked({ actions: ['s3:GetObjekt'], resources: [`${BUCKET}/*`] })).toEqual({
      status: 422,
      code: 'scope_invalid',
    });
    const many = Array.from({ length: 32 }, (_, i) => `${BUCKET}/${'p'.repeat(40)}${i}/*`);
    expect(await asked({ actions: ['s3:GetObject'], resources: many })).toEqual({
      status: 422,
      code: 'scope_invalid',
    });
    expect(fake.callCounts()).toEqual(before);
  });

  it('a single revoke denies that session at once while another session of the workload still works', async () => {
    const agentA = tokens['agent-a'] as string;
    const one = await issue(h, agentA, s3Request(), secrets);
    const two = await issue(h, agentA, s3Request(), secrets);
    await revokeLease(h, agentA, one.lease_id);
    expect(await may(one.credential, 's3:GetObject', OBJECT)).toBe('ExplicitlyDenied');
    expect(await may(two.credential, 's3:GetObject', OBJECT)).toBe('Allowed');
    const policy = JSON.stringify(fake.rolePolicy(role.name, DENY_POLICY));
    expect(policy).toContain(`${role.roleId}:${one.lease_id}`);
    expect(policy).not.toContain(two.lease_id);
  });

  it('the kill switch denies every session of the workload, with one IAM write, and none of another', async () => {
    const agentC = tokens['agent-c'] as string;
    const mine = [
      await issue(h, agentC, s3Request(), secrets),
      await issue(h, agentC, s3Request(), secrets),
      await issue(h, agentC, s3Request(), secrets),
    ];
    const bystander = await issue(h, tokens['agent-b'] as string, s3Request(), secrets);
    const writes = fake.calls('PutRolePolicy');
    const result = await revokeWorkload(h, 'agent-c');
    expect(result).toMatchObject({ revoked: 3, failed: 0 });
    expect(fake.calls('PutRolePolicy')).toBe(writes + 1);
    for (const { credential } of mine) {
      expect(await may(credential, 's3:GetObject', OBJECT)).toBe('ExplicitlyDenied');
    }
    expect(await may(bystander.credential, 's3:GetObject', OBJECT)).toBe('Allowed');
    const policy = JSON.stringify(fake.rolePolicy(role.name, DENY_POLICY));
    // One entry for the workload, none per lease.
    expect(policy.match(/jit-workload/g)).toHaveLength(1);
    for (const { lease_id } of mine) expect(policy).not.toContain(lease_id);
  });

  it('the kill switch revokes the AWS, PostgreSQL and jwt leases of one workload together', async () => {
    const agentD = tokens['agent-d'] as string;
    const aws = await issue(h, agentD, s3Request(), secrets);
    const db = await h.request('/v1/credentials', {
      method: 'POST',
      token: agentD,
      json: { target: 'pg-test', scope: { roles: [pgGroup] }, task: task() },
    });
    expect(db.status).toBe(201);
    const dbLease = (await db.json()) as {
      lease_id: string;
      credential: { username: string; password: string };
    };
    secrets.push(dbLease.credential.password);
    const jwt = await h.request('/v1/credentials', {
      method: 'POST',
      token: agentD,
      json: { target: 'tickets', scope: { scopes: ['tickets:read'] }, task: task('triage') },
    });
    expect(jwt.status).toBe(201);
    const jwtLease = (await jwt.json()) as { lease_id: string };

    const result = await revokeWorkload(h, 'agent-d');
    expect(result.failed).toBe(0);
    for (const leaseId of [aws.lease_id, dbLease.lease_id, jwtLease.lease_id]) {
      expect(
        await eventually(async () => (await leaseState(h, agentD, leaseId)) === 'revoked'),
      ).toBe(true);
    }
    expect(await may(aws.credential, 's3:GetObject', OBJECT)).toBe('ExplicitlyDenied');
    const { rows } = await su.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [
      dbLease.credential.username,
    ]);
    expect(rows).toHaveLength(0);
  });

  it('a policy whose max_ttl exceeds the role session limit is refused when the config loads', async () => {
    const refused = await startHarness({
      configure(raw) {
        (raw.targets as unknown[]).push(awsTarget(fake, role.arn));
        (raw.policies as unknown[]).push({ ...awsPolicy(['agent-a']), max_ttl: '2h' });
      },
    }).then(
      async (started) => {
        await started.close();
        return null;
      },
      (err: unknown) => err,
    );
    expect(String(refused)).toMatch(
      /aws target "aws-reports" gives credentials at most 3600 seconds/,
    );
  });

  it('no access key, secret key or session token in logs, events, errors or lease listings', async () => {
    const listing = await h.request('/v1/leases?limit=500', {
      token: await h.operatorToken(['viewer']),
    });
    expect(listing.status).toBe(200);
    const text = await listing.text();
    fake.failNext('AssumeRole', { status: 403, code: 'AccessDenied', message: 'not authorized' });
    const failed = await h.request('/v1/credentials', {
      method: 'POST',
      token: tokens['agent-b'] as string,
      json: s3Request(),
    });
    expect(failed.status).toBe(502);
    const error = await failed.text();
    // The broker's own access refused: an operator's problem, named as such, without AWS's text.
    expect(JSON.parse(error)).toMatchObject({ code: 'provider_misconfigured' });
    expect(error).not.toContain('not authorized');
    await h.flushedEvents();
    expect(secrets.length).toBeGreaterThan(10);
    for (const secret of secrets) {
      expect(text.includes(secret)).toBe(false);
      expect(error.includes(secret)).toBe(false);
    }
    expectNoSecretOutput(h, secrets);
    // The operator learns what to fix from the log.
    expect(h.logs.text).toContain("AWS denied the broker's own principal");
  });
});
