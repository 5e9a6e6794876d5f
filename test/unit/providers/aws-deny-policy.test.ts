import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AwsProvider,
  awsTargetSchema,
  createAwsProvider,
} from '../../../providers/aws/index.js';
import {
  bucketEnd,
  emptyEntries,
  fitDenyPolicy,
  parseDenyPolicy,
  pruneEntries,
  renderDenyPolicy,
} from '../../../providers/aws/lib/deny-policy.js';
import { toProviderError } from '../../../providers/aws/lib/errors.js';
import { denyLockTtlMs } from '../../../providers/aws/revocations.js';
import type { ProviderCoordination } from '../../../providers/provider.js';
import { ProviderError } from '../../../providers/provider.js';
import { type AwsFake, type AwsFakeRole, startAwsFake } from '../../fakes/aws.js';
import { awsTarget, useBrokerCredentials } from '../../helpers/aws-fake-target.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const lease = () => `lse_${randomBytes(14).toString('hex').slice(0, 28)}`;

describe('the Deny policy document', () => {
  it('round-trips lease groups, workload cutoffs, the fence and foreign statements', () => {
    const entries = emptyEntries();
    entries.fence = 41;
    const until = bucketEnd(Date.UTC(2026, 11, 6, 14, 0, 30));
    entries.leases.set('AROAEXAMPLE:lse_a', until);
    entries.leases.set('*:lse_b', until + MINUTE);
    entries.workloads.set('agent-a', Date.UTC(2026, 11, 6, 13, 0, 0));
    entries.foreign.push({ Sid: 'Theirs', Effect: 'Deny', Action: 's3:*', Resource: '*' });
    const text = renderDenyPolicy(entries);
    const again = parseDenyPolicy(text);
    expect(again.fence).toBe(41);
    expect([...again.leases]).toEqual([...entries.leases]);
    expect([...again.workloads]).toEqual([...entries.workloads]);
    expect(again.foreign).toEqual(entries.foreign);
    expect(renderDenyPolicy(again)).toBe(text);
  });

  it('prunes lease groups whose minute passed and workload cutoffs every session outlived', () => {
    const now = Date.UTC(2026, 11, 6, 14, 0, 0);
    const entries = emptyEntries();
    entries.leases.set('R:lse_old', now - MINUTE);
    entries.leases.set('R:lse_live', now + MINUTE);
    entries.workloads.set('gone', now - 2 * HOUR);
    entries.workloads.set('recent', now - 30 * MINUTE);
    pruneEntries(entries, now, HOUR);
    expect([...entries.leases.keys()]).toEqual(['R:lse_live']);
    expect([...entries.workloads.keys()]).toEqual(['recent']);
  });

  it('merges lease groups into later minutes to fit, and never drops a live entry', () => {
    const now = Date.UTC(2026, 11, 6, 14, 0, 0);
    const entries = emptyEntries();
    const ids = Array.from({ length: 60 }, () => `AROAEXAMPLEEXAMPLE123:${lease()}`);
    ids.forEach((id, i) => {
      entries.leases.set(id, bucketEnd(now + i * MINUTE));
    });
    const unmerged = renderDenyPolicy(entries).length;
    const limit = unmerged - 2_000;
    const text = fitDenyPolicy(entries, limit);
    expect(text).not.toBeNull();
    expect((text as string).length).toBeLessThanOrEqual(limit);
    const kept = parseDenyPolicy(text as string);
    expect(kept.leases.size).toBe(60);
    // A lease may be denied longer than it needs, never shorter.
    for (const [id, until] of kept.leases) {
      expect(until).toBeGreaterThanOrEqual(bucketEnd(now + ids.indexOf(id) * MINUTE));
    }
    expect(fitDenyPolicy(entries, 1_000)).toBeNull();
  });
});

describe('STS and IAM errors', () => {
  const err = (name: string, status?: number, fault?: 'client' | 'server') =>
    Object.assign(new Error('secret-free message'), {
      name,
      $fault: fault,
      $metadata: status === undefined ? {} : { httpStatusCode: status },
    });

  it('maps throttling and outages to retryable, own access problems to misconfiguration', () => {
    const throttled = toProviderError('t', 'AssumeRole', err('Throttling', 400, 'client'));
    expect(throttled).toMatchObject({ code: 'provider_unavailable', retryable: true });
    const denied = toProviderError('t', 'AssumeRole', err('AccessDenied', 403, 'client'));
    expect(denied).toMatchObject({ code: 'provider_misconfigured', retryable: false });
    expect(denied.message).toMatch(/sts:AssumeRole/);
    expect(toProviderError('t', 'x', err('InvalidClientTokenId', 403))).toMatchObject({
      code: 'provider_misconfigured',
    });
    expect(toProviderError('t', 'x', err('InternalFailure', 500, 'server'))).toMatchObject({
      code: 'provider_unavailable',
      retryable: true,
    });
    expect(toProviderError('t', 'x', new Error('connect ECONNREFUSED'))).toMatchObject({
      code: 'provider_unavailable',
      retryable: true,
    });
    expect(
      toProviderError('t', 'x', err('PackedPolicyTooLargeException', 400, 'client')),
    ).toMatchObject({ code: 'invalid_scope', retryable: false });
    expect(toProviderError('t', 'x', err('MalformedPolicyDocument', 400, 'client'))).toMatchObject({
      code: 'provider_rejected',
      retryable: false,
    });
  });
});

describe('the Deny policy writer against the IAM fake', () => {
  let fake: AwsFake;
  let role: AwsFakeRole;

  /** One process's coordination, with a fence the test can set. */
  const coordination = (fence: () => number, held: boolean): ProviderCoordination => ({
    withLock: (_name, _options, work) => work({ fence: fence(), stillHeld: async () => held }),
  });

  function provider(
    fence: () => number,
    extra: Record<string, unknown> = {},
    held = true,
  ): AwsProvider {
    return createAwsProvider(
      awsTargetSchema.parse(awsTarget(fake, role.arn, { name: 'aws-unit', ...extra })),
      { brokerUrl: 'https://broker.example', coordination: coordination(fence, held) },
    );
  }

  const handle = (workload = 'agent-a') => ({
    role_id: role.roleId,
    workload,
    issued_before: Date.now() - 1_000,
    expires_at: Date.now() + 10 * MINUTE,
  });

  beforeAll(async () => {
    fake = await startAwsFake();
    useBrokerCredentials(fake);
  });
  afterAll(() => fake?.close());

  it('holds the lock for longer than a whole read-modify-write at the configured timeout', async () => {
    role = fake.createRole();
    const asked: number[] = [];
    const p = createAwsProvider(
      awsTargetSchema.parse(awsTarget(fake, role.arn, { name: 'aws-unit', timeout_ms: 30_000 })),
      {
        brokerUrl: 'https://broker.example',
        coordination: {
          withLock: (_name, options, work) => {
            asked.push(options.ttlMs);
            return work({ fence: 1, stillHeld: async () => true });
          },
        },
      },
    );
    await p.revoke(handle(), lease());
    // Two IAM calls, each up to two attempts of a connection and a request timeout: 8 × 30 s.
    expect(asked).toEqual([denyLockTtlMs(30_000)]);
    expect(denyLockTtlMs(30_000)).toBeGreaterThan(8 * 30_000);
    expect(denyLockTtlMs(100)).toBe(60_000);
  });

  it('coalesces concurrent revocations into few IAM writes, every entry landing', async () => {
    role = fake.createRole();
    let fence = 0;
    const p = provider(() => ++fence);
    const ids = Array.from({ length: 100 }, lease);
    const writes = fake.calls('PutRolePolicy');
    await Promise.all(ids.map((id) => p.revoke(handle(), id)));
    expect(fake.calls('PutRolePolicy') - writes).toBeLessThanOrEqual(2);
    const text = JSON.stringify(fake.rolePolicy(role.name, 'jit-broker-revocations'));
    for (const id of ids) expect(text).toContain(`${role.roleId}:${id}`);
  });

  it('a revocation queued by a waiter that was just woken still gets written', async () => {
    role = fake.createRole();
    let fence = 0;
    const p = provider(() => ++fence);
    const second = lease();
    const entry = (leaseId: string) => ({
      kind: 'lease' as const,
      leaseId,
      roleId: role.roleId,
      expiresAt: Date.now() + 10 * MINUTE,
    });
    // Queued from the very continuation the first write wakes, before the writer has returned.
    await p.denyPolicy.deny(entry(lease())).then(() => p.denyPolicy.deny(entry(second)));
    expect(JSON.stringify(fake.rolePolicy(role.name, 'jit-broker-revocations'))).toContain(second);
  });

  it('a revocation the kill switch entry covers, or one past its expiry, writes nothing', async () => {
    role = fake.createRole();
    let fence = 0;
    const p = provider(() => ++fence);
    await p.revokeWorkload?.('agent-k');
    const writes = fake.calls('PutRolePolicy');
    await p.revoke(handle('agent-k'), lease());
    await p.revoke({ ...handle('agent-z'), expires_at: Date.now() - 1 }, lease());
    expect(fake.calls('PutRolePolicy')).toBe(writes);
    await p.revoke(handle('agent-z'), lease());
    expect(fake.calls('PutRolePolicy')).toBe(writes + 1);
  });

  it('a holder whose lock lapsed and whose fence is older than the policy never overwrites it', async () => {
    role = fake.createRole();
    await provider(() => 7).revoke(handle(), lease());
    const stale = provider(() => 3, {}, false);
    const before = JSON.stringify(fake.rolePolicy(role.name, 'jit-broker-revocations'));
    const refused = await stale.revoke(handle(), lease()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ProviderError);
    expect(refused).toMatchObject({ code: 'provider_unavailable', retryable: true });
    expect(JSON.stringify(fake.rolePolicy(role.name, 'jit-broker-revocations'))).toBe(before);
  });

  it('a lock still held with a fence below the policy (a lost counter) writes past it', async () => {
    role = fake.createRole();
    await provider(() => 7).revoke(handle(), lease());
    const id = lease();
    await provider(() => 1).revoke(handle(), id);
    const policy = fake.rolePolicy(role.name, 'jit-broker-revocations') as { Id: string };
    expect(policy.Id).toBe('jit-broker-fence-8');
    expect(JSON.stringify(policy)).toContain(id);
  });

  it('says loudly when the policy is full and drops no live entry', async () => {
    role = fake.createRole();
    let fence = 0;
    const p = provider(() => ++fence, { revocation_policy_max_chars: 1_024 });
    const first = Array.from({ length: 8 }, lease);
    await Promise.all(first.map((id) => p.revoke(handle(), id)));
    const full = await Promise.all(
      Array.from({ length: 12 }, () => p.revoke(handle(), lease()).catch((e: unknown) => e)),
    );
    const failed = full.filter((e) => e instanceof ProviderError);
    expect(failed.length).toBeGreaterThan(0);
    expect((failed[0] as ProviderError).message).toMatch(/is full .* no live entry is dropped/);
    const text = JSON.stringify(fake.rolePolicy(role.name, 'jit-broker-revocations'));
    for (const id of first) expect(text).toContain(id);
    // Readiness reads the policy itself, so every replica says it is full.
    expect(await p.check()).toEqual({
      ok: false,
      detail: expect.stringMatching(/^aws target "aws-unit": the Deny policy .* is full/),
    });
    expect(await provider(() => ++fence, { revocation_policy_max_chars: 1_024 }).check()).toEqual(
      await p.check(),
    );
    // The room kept for the kill switch: its entry lands although single revocations cannot.
    await p.revokeWorkload?.('agent-full');
    const after = JSON.stringify(fake.rolePolicy(role.name, 'jit-broker-revocations'));
    expect(after).toContain('"aws:PrincipalTag/jit-workload":"agent-full"');
    for (const id of first) expect(after).toContain(id);
  });

  it('readiness checks STS and the role, and names a missing role', async () => {
    role = fake.createRole();
    expect(await provider(() => 1).check()).toEqual({ ok: true });
    const missing = createAwsProvider(
      awsTargetSchema.parse(
        awsTarget(fake, 'arn:aws:iam::123456789012:role/nobody', { name: 'aws-unit' }),
      ),
      { brokerUrl: 'https://broker.example' },
    );
    expect(await missing.check()).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/role does not exist/),
    });
    fake.failNext('GetCallerIdentity', { status: 403, code: 'InvalidClientTokenId', message: 'x' });
    expect(await missing.check()).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/own credentials/),
    });
  });
});
