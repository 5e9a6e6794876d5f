import { GetRolePolicyCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { Health, Provider, ProviderContext, ProviderKind } from '../provider.js';
import { type AwsTargetConfig, roleNameOf } from './config.js';
import type { AwsCredential } from './credential.js';
import { createClients } from './lib/clients.js';
import { toProviderError } from './lib/errors.js';
import type { AwsTarget } from './lib/target.js';
import { mintSession } from './mint.js';
import { readHandle } from './read-handle.js';
import { DenyPolicyWriter, denyPolicyFullness } from './revocations.js';
import {
  type AwsCeiling,
  type AwsScope,
  awsCeilingSchema,
  awsScopeSchema,
  awsTierAllows,
  awsWithin,
} from './scope.js';
import { suggestAwsCeiling } from './suggest.js';
import { verifySessionDenied } from './verify.js';

export const AWS_KIND = 'aws' satisfies ProviderKind;

export interface AwsProvider extends Provider<AwsScope, AwsCeiling, AwsCredential> {
  /** The target's Deny-policy writer (its write count is a benchmark figure). */
  readonly denyPolicy: DenyPolicyWriter;
}

export function createAwsProvider(config: AwsTargetConfig, ctx: ProviderContext): AwsProvider {
  const target: AwsTarget = {
    config,
    clients: createClients(config),
    roleName: roleNameOf(config.role_arn),
    unminted: new Set(),
  };
  const denyPolicy = new DenyPolicyWriter(target, ctx.coordination);
  const skewMs = config.clock_skew_seconds * 1000;

  return {
    kind: AWS_KIND,
    target: config.name,
    scope: awsScopeSchema,
    ceiling: awsCeilingSchema,
    revokeConcurrency: config.revoke_concurrency,
    // STS refuses DurationSeconds above the role's MaxSessionDuration.
    maxTtlMs: config.max_session_duration * 1000,
    denyPolicy,
    within: awsWithin,
    suggestCeiling: suggestAwsCeiling,
    tierAllows: awsTierAllows,

    mint: (req) => mintSession(target, req),

    /**
     * A per-lease Deny on the session's user id (`<RoleId>:<lease id>`). Without a handle (a
     * crash between `AssumeRole` and activation) the session name still is the lease id, and
     * the entry lasts as long as any session can.
     */
    async revoke(raw, leaseId) {
      const handle = readHandle(raw);
      // The clean-up after a mint that certainly issued nothing.
      if (handle === undefined && target.unminted.delete(leaseId)) return;
      const roleId = handle?.role_id ?? target.roleId;
      await denyPolicy.deny({
        kind: 'lease',
        leaseId,
        ...(roleId === undefined ? {} : { roleId }),
        ...(handle === undefined
          ? { expiresAt: Date.now() + config.max_session_duration * 1000 }
          : {
              workload: handle.workload,
              issuedBefore: handle.issued_before,
              expiresAt: handle.expires_at,
            }),
      });
    },

    verifyRevoked: (handle, leaseId) => verifySessionDenied(target, handle, leaseId),

    /** One entry for every session of the workload issued until now (and the clock skew). */
    async revokeWorkload(workload) {
      await denyPolicy.deny({ kind: 'workload', workload, cutoff: Date.now() + skewMs + 1000 });
    },

    async check(): Promise<Health> {
      try {
        await target.clients.sts.send(new GetCallerIdentityCommand({}));
      } catch (err) {
        return {
          ok: false,
          detail: toProviderError(config.name, 'STS GetCallerIdentity', err).message,
        };
      }
      try {
        const answer = await target.clients.iam.send(
          new GetRolePolicyCommand({
            RoleName: target.roleName,
            PolicyName: config.revocation_policy_name,
          }),
        );
        // A full Deny policy makes single early revocations wait: say so where operators look.
        const full = denyPolicyFullness(
          config,
          decodeURIComponent(answer.PolicyDocument ?? ''),
          Date.now(),
        );
        if (full !== undefined) return { ok: false, detail: full };
      } catch (err) {
        // The Deny policy appears with the first early revocation; a missing role is an error.
        const missingPolicy =
          (err as { name?: string }).name === 'NoSuchEntityException' &&
          /role policy/i.test(String((err as Error).message));
        if (!missingPolicy) {
          return {
            ok: false,
            detail: toProviderError(config.name, 'IAM GetRolePolicy', err).message,
          };
        }
      }
      return { ok: true };
    },

    async close() {
      target.clients.sts.destroy();
      target.clients.iam.destroy();
    },
  };
}
