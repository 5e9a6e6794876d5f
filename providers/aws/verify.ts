import { GetRolePolicyCommand } from '@aws-sdk/client-iam';
import type { RevocationHandle, RevocationProof } from '../provider.js';
import { parseDenyPolicy } from './lib/deny-policy.js';
import { toProviderError } from './lib/errors.js';
import type { AwsTarget } from './lib/target.js';
import { readHandle } from './read-handle.js';

/**
 * Proof that a lease's session is denied: the role's Deny policy, read back through IAM
 * `GetRolePolicy`, holds an entry for the session's user id (`<RoleId>:<lease id>`, or
 * `*:<lease id>`) lasting until the session's end, or a kill-switch entry for its workload whose
 * cutoff is later than the session's issue time by more than the clock skew. The role read is
 * the target's: a session minted from another role id is not proven. A session past the
 * lease's expiry by more than the clock skew is dead by its own session policy.
 */
export async function verifySessionDenied(
  target: AwsTarget,
  raw: RevocationHandle,
  leaseId: string,
  now = Date.now(),
): Promise<RevocationProof> {
  const handle = readHandle(raw);
  // AWS checks the session policy's expiry against aws:CurrentTime on its own clock.
  const skewMs = target.config.clock_skew_seconds * 1000;
  if (handle !== undefined && handle.expires_at + skewMs <= now) {
    return { gone: true, evidence: 'the session policy denies everything past the lease expiry' };
  }
  // The Deny read back is the target's role's own: it binds no session of another role (the
  // target's role was replaced or changed since the lease was minted).
  if (handle !== undefined && target.roleId !== undefined && handle.role_id !== target.roleId) {
    return {
      gone: false,
      evidence: `the session is of role id ${handle.role_id}, the target's role is now ${target.roleId}: its Deny binds no session of the other`,
    };
  }
  let text: string;
  try {
    const answer = await target.clients.iam.send(
      new GetRolePolicyCommand({
        RoleName: target.roleName,
        PolicyName: target.config.revocation_policy_name,
      }),
    );
    text = decodeURIComponent(answer.PolicyDocument ?? '');
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchEntityException') {
      return {
        gone: false,
        evidence: `role policy ${target.config.revocation_policy_name} is absent`,
      };
    }
    throw toProviderError(target.config.name, 'IAM GetRolePolicy', err);
  }
  const entries = parseDenyPolicy(text);
  const policy = `role policy ${target.config.revocation_policy_name}`;
  const roleId = handle?.role_id ?? target.roleId;
  const userIds = [...(roleId === undefined ? [] : [`${roleId}:${leaseId}`]), `*:${leaseId}`];
  for (const userId of userIds) {
    const until = entries.leases.get(userId);
    if (until !== undefined && (handle === undefined || until >= handle.expires_at)) {
      return { gone: true, evidence: `${policy} denies ${userId} until ${iso(until)}` };
    }
  }
  if (handle !== undefined) {
    // STS stamps the issue time on its own clock: the cutoff must pass the broker's bound on
    // it by the configured clock skew, as the revocation itself assumes.
    const cutoff = entries.workloads.get(handle.workload);
    if (cutoff !== undefined && cutoff > handle.issued_before + skewMs) {
      return {
        gone: true,
        evidence: `${policy} denies sessions of ${handle.workload} issued before ${iso(cutoff)}`,
      };
    }
  }
  return { gone: false, evidence: `${policy} holds no deny covering the session of this lease` };
}

const iso = (ms: number) => new Date(ms).toISOString();
