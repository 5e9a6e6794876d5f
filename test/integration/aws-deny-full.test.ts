import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsFake, type AwsFakeRole, startAwsFake } from '../fakes/aws.js';
import { awsTarget, useBrokerCredentials } from '../helpers/aws-fake-target.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { eventually, expectNoSecretOutput } from '../helpers/lease-http.js';
import { redisAvailable, requireService } from '../helpers/services.js';

/*
 * The broker's Deny policy is bounded by IAM's inline-policy size. When it has no room left
 * for one more per-lease entry, a single early revocation is never made to fit by dropping a
 * live entry: the lease stays `revoking`, the failure names the target and says the policy is
 * full (log, lease record, readiness), and it is retried until room appears.
 */

const DENY_POLICY = 'jit-broker-revocations';
const BUCKET_OBJECTS = 'arn:aws:s3:::reports-2026/*';
const OBJECT = 'arn:aws:s3:::reports-2026/q3.csv';

const services = await requireService('redis', await redisAvailable());

interface Issued {
  lease_id: string;
  credential: { access_key_id: string; secret_access_key: string; session_token: string };
}

interface LeaseView {
  state: string;
  attempts: number;
  last_error?: string;
}

describe.skipIf(!services)('a full Deny policy', () => {
  let fake: AwsFake;
  let role: AwsFakeRole;
  let h: Harness;
  let agent: string;
  const secrets: string[] = [];
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    fake = await startAwsFake();
    role = fake.createRole();
    useBrokerCredentials(fake);
    secrets.push(fake.brokerCredentials.secretAccessKey);
    h = await startHarness({
      store: 'redis',
      listen: true,
      configure(raw) {
        // Retried for as long as the test needs: the lease stays `revoking` meanwhile.
        const leases = raw.leases as { reaper: Record<string, unknown> };
        leases.reaper.max_attempts = 50;
        (raw.targets as unknown[]).push(
          awsTarget(fake, role.arn, {
            name: 'aws-small',
            // The smallest policy the config allows: some ten per-lease entries.
            revocation_policy_max_chars: 1_024,
          }),
        );
        (raw.policies as unknown[]).push({
          name: 'agents-read-reports',
          workloads: ['agent-a'],
          target: 'aws-small',
          allow: { actions: ['s3:GetObject'], resources: [BUCKET_OBJECTS] },
          intents: ['report'],
          default_ttl: '10m',
          max_ttl: '15m',
        });
      },
    });
    agent = await h.workloadToken('spiffe://test/agent-a');
  });

  afterAll(async () => {
    await h?.close();
    await fake?.close();
    process.env = savedEnv;
  });

  async function issue(): Promise<Issued> {
    const res = await h.request('/v1/credentials', {
      method: 'POST',
      token: agent,
      json: {
        target: 'aws-small',
        scope: { actions: ['s3:GetObject'], resources: [BUCKET_OBJECTS] },
        task: { id: `full-${randomBytes(3).toString('hex')}`, intent: 'report' },
      },
    });
    const body = (await res.json()) as Issued;
    expect(res.status).toBe(201);
    secrets.push(body.credential.secret_access_key, body.credential.session_token);
    return body;
  }

  async function lease(id: string): Promise<LeaseView> {
    const res = await h.request(`/v1/leases/${id}`, { token: agent });
    expect(res.status).toBe(200);
    return (await res.json()) as LeaseView;
  }

  const denyPolicyText = () => JSON.stringify(fake.rolePolicy(role.name, DENY_POLICY) ?? {});

  it('keeps every live entry, leaves the refused lease revoking and says so, then lands it once there is room', async () => {
    // Revoke one lease at a time until the policy refuses one.
    const landed: Issued[] = [];
    let refused: Issued | undefined;
    for (let n = 0; n < 30 && refused === undefined; n++) {
      const issued = await issue();
      const res = await h.request(`/v1/leases/${issued.lease_id}`, {
        method: 'DELETE',
        token: agent,
      });
      if (res.status === 200) landed.push(issued);
      else {
        expect(res.status).toBe(202);
        refused = issued;
      }
    }
    expect(refused, 'the policy never filled').toBeDefined();
    const stuck = refused as Issued;
    expect(landed.length).toBeGreaterThanOrEqual(5);

    // No live entry was dropped to make room: every landed revocation still denies.
    const policy = denyPolicyText();
    for (const issued of landed) expect(policy).toContain(`${role.roleId}:${issued.lease_id}`);
    expect(policy).not.toContain(stuck.lease_id);
    // The refused session still works: it is not revoked, and nobody is told it is.
    expect(
      await fake.check({
        accessKeyId: stuck.credential.access_key_id,
        action: 's3:GetObject',
        resource: OBJECT,
      }),
    ).toBe('Allowed');

    // Said loudly: the lease record, the log (target named) and readiness.
    expect(
      await eventually(async () => (await lease(stuck.lease_id)).attempts >= 2, 10_000),
      'the revocation is retried',
    ).toBe(true);
    const view = await lease(stuck.lease_id);
    expect(view.state).toBe('revoking');
    expect(view.last_error).toMatch(/aws target "aws-small": the Deny policy .* is full/);
    const full = h.logs.text
      .split('\n')
      .filter((line) => line.includes(stuck.lease_id) && line.includes('is full'));
    expect(full.length).toBeGreaterThanOrEqual(2);
    for (const line of full) expect(line).toContain('aws-small');
    const readiness = await h.request('/v1/readiness', {
      token: await h.operatorToken(['viewer']),
    });
    const report = (await readiness.json()) as {
      checks: Record<string, { ok: boolean; detail?: string }>;
    };
    expect(report.checks['target:aws-small']).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/Deny policy jit-broker-revocations is full/),
    });

    // Room appears (here: the entries are gone, as when their leases' minutes pass): the
    // retry lands and denies the session.
    role.policies.delete(DENY_POLICY);
    expect(
      await eventually(async () => (await lease(stuck.lease_id)).state === 'revoked', 15_000),
    ).toBe(true);
    expect(denyPolicyText()).toContain(`${role.roleId}:${stuck.lease_id}`);
    expect(
      await fake.check({
        accessKeyId: stuck.credential.access_key_id,
        action: 's3:GetObject',
        resource: OBJECT,
      }),
    ).toBe('ExplicitlyDenied');
    // Readiness caches a target's answer for a few seconds, then says it has room again.
    const viewer = await h.operatorToken(['viewer']);
    const roomy = async () => {
      const res = await h.request('/v1/readiness', { token: viewer });
      const body = (await res.json()) as { checks: Record<string, { ok: boolean }> };
      return body.checks['target:aws-small']?.ok === true;
    };
    expect(await eventually(roomy, 20_000)).toBe(true);
  });

  it('no key, secret or session token reached the logs or events', async () => {
    await h.flushedEvents();
    expect(secrets.length).toBeGreaterThan(10);
    expectNoSecretOutput(h, secrets);
  });
});
