import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AwsProvider,
  awsScopeSchema,
  awsTargetSchema,
  createAwsProvider,
} from '../../../providers/aws/index.js';
import { sessionTags } from '../../../providers/aws/lib/tags.js';
import type { ProviderCoordination } from '../../../providers/provider.js';
import { type AwsFake, type AwsFakeRole, startAwsFake } from '../../fakes/aws.js';
import { awsTarget, useBrokerCredentials } from '../../helpers/aws-fake-target.js';

const MINUTE = 60_000;
const lease = () => `lse_${randomBytes(14).toString('hex').slice(0, 28)}`;
const scope = awsScopeSchema.parse({
  actions: ['s3:GetObject'],
  resources: ['arn:aws:s3:::reports/*'],
});

describe('minting AWS sessions against the fake', () => {
  let fake: AwsFake;
  let role: AwsFakeRole;
  let provider: AwsProvider;
  let fence = 0;
  const coordination: ProviderCoordination = {
    withLock: (_name, _options, work) => work({ fence: ++fence, stillHeld: async () => true }),
  };

  const mint = (overrides: Record<string, unknown> = {}) =>
    provider.mint({
      leaseId: lease(),
      workload: 'agent-a',
      subject: 'spiffe://test/agent-a',
      task: { id: 'ticket#42', intent: 'report' },
      scope,
      expiresAt: Date.now() + 5 * MINUTE,
      issuedAt: Date.now(),
      ...overrides,
    });

  beforeAll(async () => {
    fake = await startAwsFake();
    role = fake.createRole({ maxSessionDuration: 3600 });
    useBrokerCredentials(fake);
    provider = createAwsProvider(
      awsTargetSchema.parse(
        awsTarget(fake, role.arn, { name: 'aws-unit', session_duration_floor: 1200 }),
      ),
      { brokerUrl: 'https://broker.example', coordination },
    );
  });
  afterAll(async () => {
    await provider?.close?.();
    await fake?.close();
  });

  it('tags the session, writes # in a task id as +, and keeps DurationSeconds at the floor', async () => {
    const minted = await mint();
    const session = fake.sessions().at(-1);
    expect(session?.tags['jit-task']).toBe('ticket+42');
    expect(session?.durationSeconds).toBe(1200);
    expect(minted.handle).toMatchObject({ role_id: role.roleId, workload: 'agent-a' });
    expect(minted.handle).not.toHaveProperty('secret_access_key');
  });

  it('asks STS for the lease TTL when it is above the floor (DurationSeconds = max(floor, ttl))', async () => {
    await mint({ expiresAt: Date.now() + 30 * MINUTE });
    expect(fake.sessions().at(-1)?.durationSeconds).toBe(30 * 60);
  });

  it('checks session tags against AWS tag patterns before any call', () => {
    expect(sessionTags('agent-a', 'a/b:c@d.e_f-g#h', lease())[1]).toEqual({
      Key: 'jit-task',
      Value: 'a/b:c@d.e_f-g+h',
    });
    for (const bad of ['ticket!1', 'x'.repeat(257), 'quote"d']) {
      expect(() => sessionTags('agent-a', bad, lease())).toThrow(
        expect.objectContaining({ code: 'invalid_scope' }),
      );
    }
    expect(() => sessionTags('agent a,', 'ok', lease())).toThrow(/jit-workload/);
  });

  it('refuses, before calling STS, a TTL beyond the role and ids STS would refuse', async () => {
    const before = fake.calls('AssumeRole');
    await expect(mint({ expiresAt: Date.now() + 2 * 3600_000 })).rejects.toThrow(
      /max_session_duration/,
    );
    await expect(mint({ workload: 'a' })).rejects.toMatchObject({
      code: 'provider_misconfigured',
      message: expect.stringMatching(/SourceIdentity/),
    });
    await expect(mint({ expiresAt: Date.now() - 1 })).rejects.toThrow(/past/);
    expect(fake.calls('AssumeRole')).toBe(before);
  });

  it('a mint STS refused leaves nothing to revoke: the clean-up writes no Deny entry', async () => {
    const leaseId = lease();
    fake.failNext('AssumeRole', { status: 400, code: 'PackedPolicyTooLarge', message: 'too big' });
    await expect(mint({ leaseId })).rejects.toMatchObject({
      // Too large for STS is the request's size, not the target's fault: a 4xx to the caller.
      code: 'invalid_scope',
      retryable: false,
    });
    const writes = fake.calls('PutRolePolicy');
    await provider.revoke({}, leaseId);
    expect(fake.calls('PutRolePolicy')).toBe(writes);
  });

  it('a mint whose outcome is unknown (retried after a failure) is revoked from the lease id', async () => {
    const leaseId = lease();
    const outage = {
      status: 500,
      code: 'InternalFailure',
      message: 'x',
      type: 'Receiver' as const,
    };
    fake.failNext('AssumeRole', outage);
    fake.failNext('AssumeRole', outage);
    await expect(mint({ leaseId })).rejects.toMatchObject({ code: 'provider_unavailable' });
    const writes = fake.calls('PutRolePolicy');
    await provider.revoke({}, leaseId);
    expect(fake.calls('PutRolePolicy')).toBe(writes + 1);
    expect(JSON.stringify(fake.rolePolicy(role.name, 'jit-broker-revocations'))).toContain(
      `${role.roleId}:${leaseId}`,
    );
  });
});
