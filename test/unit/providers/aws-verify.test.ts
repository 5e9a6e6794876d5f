import { describe, expect, it } from 'vitest';
import { emptyEntries, renderDenyPolicy } from '../../../providers/aws/lib/deny-policy.js';
import type { AwsTarget } from '../../../providers/aws/lib/target.js';
import { verifySessionDenied } from '../../../providers/aws/verify.js';

/*
 * Attacks on the AWS revocation check: a Deny read back that does not bind the lease's session
 * must never be taken for proof. IAM answers with a fixed policy document here; the wire
 * protocol itself is exercised by the proof-of-revocation integration test on the AWS fake.
 */

const NOW = Date.parse('2027-05-01T12:00:00Z');
const LEASE = 'lse_ab0123456789abcdefghjkmnpq';
const ROLE_ID = 'AROAEXAMPLEROLE1';

function targetWith(
  entries: { leases?: [string, number][]; workloads?: [string, number][] },
  roleId: string | undefined = ROLE_ID,
): AwsTarget {
  const policy = emptyEntries();
  for (const [k, v] of entries.leases ?? []) policy.leases.set(k, v);
  for (const [k, v] of entries.workloads ?? []) policy.workloads.set(k, v);
  const document = encodeURIComponent(renderDenyPolicy(policy));
  return {
    config: { name: 'aws-t', revocation_policy_name: 'jit-deny', clock_skew_seconds: 30 },
    clients: { iam: { send: async () => ({ PolicyDocument: document }) } },
    roleName: 'reports',
    ...(roleId === undefined ? {} : { roleId }),
    unminted: new Set(),
  } as unknown as AwsTarget;
}

const handle = (over: Record<string, unknown> = {}) => ({
  role_id: ROLE_ID,
  workload: 'agent-a',
  issued_before: NOW - 60_000,
  expires_at: NOW + 10 * 60_000,
  ...over,
});

describe('verifySessionDenied', () => {
  it('a Deny for the lease until past its expiry proves it gone', async () => {
    const t = targetWith({ leases: [[`${ROLE_ID}:${LEASE}`, NOW + 11 * 60_000]] });
    await expect(verifySessionDenied(t, handle(), LEASE, NOW)).resolves.toMatchObject({
      gone: true,
    });
  });

  it("a Deny for the same session name on the target's role proves nothing when the session is of another role", async () => {
    const other = 'AROAOLDROLE00000';
    const t = targetWith({
      leases: [
        [`${other}:${LEASE}`, NOW + 11 * 60_000],
        [`*:${LEASE}`, NOW + 11 * 60_000],
      ],
    });
    const proof = await verifySessionDenied(t, handle({ role_id: other }), LEASE, NOW);
    expect(proof.gone).toBe(false);
    expect(proof.evidence).toMatch(/role id AROAOLDROLE00000/);
  });

  it('a Deny for another lease, or one ending before the session does, proves nothing', async () => {
    const t = targetWith({
      leases: [
        [`${ROLE_ID}:lse_ab0000000000000000000000zz`, NOW + 11 * 60_000],
        [`${ROLE_ID}:${LEASE}`, NOW + 5 * 60_000],
      ],
    });
    await expect(verifySessionDenied(t, handle(), LEASE, NOW)).resolves.toMatchObject({
      gone: false,
    });
  });

  it('a kill-switch cutoff within the clock skew of the session issue proves nothing; past it, it does', async () => {
    const issued = NOW - 60_000;
    const within = targetWith({ workloads: [['agent-a', issued + 10_000]] });
    await expect(
      verifySessionDenied(within, handle({ issued_before: issued }), LEASE, NOW),
    ).resolves.toMatchObject({ gone: false });
    const past = targetWith({ workloads: [['agent-a', issued + 31_000]] });
    await expect(
      verifySessionDenied(past, handle({ issued_before: issued }), LEASE, NOW),
    ).resolves.toMatchObject({ gone: true });
  });

  it('a session just past its expiry on the broker clock, within the clock skew, is not proven gone', async () => {
    const t = targetWith({});
    await expect(
      verifySessionDenied(t, handle({ expires_at: NOW - 1000 }), LEASE, NOW),
    ).resolves.toMatchObject({ gone: false });
    await expect(
      verifySessionDenied(t, handle({ expires_at: NOW - 31_000 }), LEASE, NOW),
    ).resolves.toMatchObject({ gone: true });
  });

  it("another workload's cutoff proves nothing", async () => {
    const t = targetWith({ workloads: [['agent-b', NOW + 60_000]] });
    await expect(verifySessionDenied(t, handle(), LEASE, NOW)).resolves.toMatchObject({
      gone: false,
    });
  });
});
