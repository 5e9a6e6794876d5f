import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AwsCredential } from '../../providers/aws/index.js';
import type { LeaseStore } from '../../src/leases/types.js';
import { createLogger } from '../../src/lib/logger.js';
import { type RunningBroker, startBroker } from '../../src/server.js';
import { type AwsFake, type AwsFakeRole, startAwsFake } from '../fakes/aws.js';
import { awsTarget, useBrokerCredentials } from '../helpers/aws-fake-target.js';
import { Capture, type Harness, startHarness } from '../helpers/broker-harness.js';
import { eventually } from '../helpers/lease-http.js';
import { redisAvailable, requireService, uniquePrefix } from '../helpers/services.js';

/*
 * Early revocation of AWS sessions across brokers that share one Redis: the Deny policy is
 * read, changed and written under a lock on the store, so two replicas revoking at once
 * both land; and a broker that dies between `AssumeRole` and activation leaves a pending
 * lease that another broker's reaper revokes with a per-lease Deny.
 */

const DENY_POLICY = 'jit-broker-revocations';
const OBJECT = 'arn:aws:s3:::reports-2026/q3.csv';
const available = await requireService('redis', await redisAvailable());

interface Issued {
  lease_id: string;
  credential: AwsCredential;
}

const request = () => ({
  target: 'aws-reports',
  scope: { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::reports-2026/*'] },
  task: { id: `t-${randomBytes(3).toString('hex')}`, intent: 'report' },
});

function configureFor(fake: AwsFake, role: AwsFakeRole, prefix: string) {
  return (raw: Record<string, unknown>) => {
    (raw.redis as Record<string, unknown>).key_prefix = prefix;
    (raw.leases as Record<string, unknown>).pending_timeout = '1s';
    (raw.targets as unknown[]).push(awsTarget(fake, role.arn));
    (raw.policies as unknown[]).push({
      name: 'agents-read-reports',
      workloads: ['agent-a', 'agent-b'],
      target: 'aws-reports',
      allow: { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::reports-*'] },
      intents: ['report'],
      default_ttl: '5m',
      max_ttl: '15m',
    });
  };
}

async function issue(h: Harness | RunningBroker, token: string): Promise<Issued> {
  const res = await ('request' in h
    ? h.request('/v1/credentials', { method: 'POST', token, json: request() })
    : h.app.request('/v1/credentials', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(request()),
      }));
  expect(res.status).toBe(201);
  return (await res.json()) as Issued;
}

describe.skipIf(!available)('aws early revocation across brokers', () => {
  let fake: AwsFake;
  let role: AwsFakeRole;
  let one: Harness;
  let two: Harness;
  /** What the fake's evaluator answers for `accessKeyId` reading the test object now. */
  const readsObject = (accessKeyId: string) =>
    fake.check({ accessKeyId, action: 's3:GetObject', resource: OBJECT });

  beforeAll(async () => {
    fake = await startAwsFake();
    role = fake.createRole();
    useBrokerCredentials(fake);
    const prefix = uniquePrefix('aws');
    one = await startHarness({ store: 'redis', configure: configureFor(fake, role, prefix) });
    two = await startHarness({ store: 'redis', configure: configureFor(fake, role, prefix) });
  });

  afterEach(() => {
    fake?.setLatency(0);
    fake?.failAlways('PutRolePolicy', undefined);
  });

  afterAll(async () => {
    await one?.close();
    await two?.close();
    await fake?.close();
  });

  it('concurrent revocations from two brokers on one Redis both land in the role policy', async () => {
    const token = await one.workloadToken('spiffe://test/agent-a');
    const leases = [await issue(one, token), await issue(one, token)];
    const [first, second] = leases as [Issued, Issued];
    // Slow IAM widens the read-modify-write window: without the lock, the later write would
    // carry only its own entry and erase the other.
    fake.setLatency(150);
    const revoke = async (h: Harness, leaseId: string) => {
      const res = await h.request(`/v1/leases/${leaseId}`, {
        method: 'DELETE',
        token: await h.operatorToken(['revoker']),
        json: { reason: 'replica drill' },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ lease_id: leaseId, state: 'revoked' });
    };
    await Promise.all([revoke(one, first.lease_id), revoke(two, second.lease_id)]);
    fake.setLatency(0);

    const policy = JSON.stringify(fake.rolePolicy(role.name, DENY_POLICY));
    expect(policy).toContain(`${role.roleId}:${first.lease_id}`);
    expect(policy).toContain(`:${second.lease_id}`);
    for (const { credential } of leases) {
      expect(await readsObject(credential.access_key_id)).toBe('ExplicitlyDenied');
    }
  });

  it('a revocation IAM keeps refusing is retried and ends revoke_failed, then lands once IAM recovers', async () => {
    const token = await one.workloadToken('spiffe://test/agent-a');
    const issued = await issue(one, token);
    fake.failAlways('PutRolePolicy', {
      status: 403,
      code: 'AccessDenied',
      message: 'User is not authorized to perform: iam:PutRolePolicy',
    });
    const res = await one.request(`/v1/leases/${issued.lease_id}`, { method: 'DELETE', token });
    expect(res.status).toBe(202);
    const state = async () => {
      const got = await one.request(`/v1/leases/${issued.lease_id}`, { token });
      return ((await got.json()) as { state: string }).state;
    };
    expect(await eventually(async () => (await state()) === 'revoke_failed', 15_000)).toBe(true);
    // Either broker's reaper may have made the last attempt.
    const events = [...(await one.flushedEvents()), ...(await two.flushedEvents())];
    const failed = events.find(
      (e) => e.type === 'lease.revoke_failed' && e.lease_id === issued.lease_id,
    );
    expect(JSON.stringify(failed)).toMatch(/iam:PutRolePolicy/);
    expect(await readsObject(issued.credential.access_key_id)).toBe('Allowed');
    fake.failAlways('PutRolePolicy', undefined);
    // revoke_failed leases are still retried every backoff_max.
    expect(await eventually(async () => (await state()) === 'revoked', 10_000)).toBe(true);
    expect(await readsObject(issued.credential.access_key_id)).toBe('ExplicitlyDenied');
  });

  it('a crash between AssumeRole and activation leaves a pending lease the reaper revokes with a per-lease Deny', async () => {
    const logs = new Capture();
    // A broker whose activation never answers: as if the process died right after AssumeRole.
    const stalled = await startBroker({
      config: one.config,
      store: 'redis',
      logger: createLogger({ level: 'warn', destination: logs }),
      eventsOut: new Capture(),
      listen: false,
      reaper: false,
      instrument: {
        store: (store: LeaseStore) =>
          new Proxy(store, {
            get(target, property, receiver) {
              if (property === 'activate') return () => new Promise(() => {});
              const value = Reflect.get(target, property, receiver) as unknown;
              return typeof value === 'function' ? value.bind(target) : value;
            },
          }),
      },
    });
    const sessionsBefore = fake.sessions().length;
    const token = await one.workloadToken('spiffe://test/agent-b');
    void issue(stalled, token).catch(() => {});
    expect(await eventually(async () => fake.sessions().length === sessionsBefore + 1)).toBe(true);
    const session = fake.sessions().at(-1);
    const leaseId = session?.sessionName as string;
    expect(leaseId).toMatch(/^lse_/);
    expect(await readsObject(session?.accessKeyId as string)).toBe('Allowed');

    // The other brokers' reapers take the pending lease at pending_timeout and revoke it
    // from the lease id alone: the session name is the lease id.
    const viewer = await two.operatorToken(['viewer']);
    expect(
      await eventually(async () => {
        const res = await two.request(`/v1/leases/${leaseId}`, { token: viewer });
        return res.status === 200 && ((await res.json()) as { state: string }).state === 'revoked';
      }, 10_000),
    ).toBe(true);
    expect(JSON.stringify(fake.rolePolicy(role.name, DENY_POLICY))).toContain(`:${leaseId}`);
    expect(await readsObject(session?.accessKeyId as string)).toBe('ExplicitlyDenied');
    await Promise.race([stalled.close(), new Promise((r) => setTimeout(r, 2_000))]);
  });
});
