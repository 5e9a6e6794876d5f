import { AssumeRoleCommand, type AssumeRoleCommandOutput } from '@aws-sdk/client-sts';
import { type Minted, type MintRequest, ProviderError } from '../provider.js';
import type { AwsCredential } from './credential.js';
import { toProviderError } from './lib/errors.js';
import { sessionPolicyText } from './lib/session-policy.js';
import { assertSessionName, sessionTags } from './lib/tags.js';
import { type AwsTarget, recordUnminted } from './lib/target.js';
import { type AwsScope, expandScope, SESSION_POLICY_MAX_CHARS } from './scope.js';

/** What revocation needs: nothing secret, only who and when. */
export interface AwsHandle {
  role_id: string;
  workload: string;
  /** Broker time (ms) once AWS had answered: the session was issued no later. */
  issued_before: number;
  /** The lease's expiry (ms): after it the session policy denies everything. */
  expires_at: number;
}

/**
 * `AssumeRole` with the lease id as session name, the workload as source identity, session
 * tags for workload, task and lease, and a session policy that is exactly the grant and ends
 * at the lease's expiry. Every limit is checked before the call.
 */
export async function mintSession(
  target: AwsTarget,
  req: MintRequest<AwsScope>,
): Promise<Minted<AwsCredential>> {
  const call = { sent: false };
  try {
    return await assumeRole(target, req, call);
  } catch (err) {
    if (!call.sent || refusedOnFirstAttempt(err)) recordUnminted(target, req.leaseId);
    throw toProviderError(target.config.name, 'AssumeRole', err);
  }
}

/** STS answered the only attempt with an error: no session exists (a retried call may have landed). */
function refusedOnFirstAttempt(err: unknown): boolean {
  const metadata = (err as { $metadata?: { httpStatusCode?: number; attempts?: number } })
    .$metadata;
  const status = metadata?.httpStatusCode;
  return status !== undefined && status >= 400 && (metadata?.attempts ?? 1) <= 1;
}

async function assumeRole(
  target: AwsTarget,
  req: MintRequest<AwsScope>,
  call: { sent: boolean },
): Promise<Minted<AwsCredential>> {
  const { config } = target;
  const now = Date.now();
  if (!(req.expiresAt > now)) {
    throw new ProviderError('provider_rejected', 'expiry is in the past', false);
  }
  const ttlSeconds = Math.ceil((req.expiresAt - now) / 1000);
  const duration = Math.max(config.session_duration_floor, ttlSeconds);
  if (duration > config.max_session_duration) {
    throw new ProviderError(
      'invalid_scope',
      `a ${ttlSeconds} s lease exceeds the role's max_session_duration (${config.max_session_duration} s)`,
      false,
    );
  }
  assertSessionName(config.name, 'the lease id (RoleSessionName)', req.leaseId);
  assertSessionName(config.name, 'the workload id (SourceIdentity)', req.workload);
  const tags = sessionTags(req.workload, req.task.id, req.leaseId);
  const expiresAt = new Date(req.expiresAt);
  const policy = sessionPolicyText(req.scope, expandScope(req.scope.actions), expiresAt);
  if (policy.length > SESSION_POLICY_MAX_CHARS) {
    throw new ProviderError(
      'invalid_scope',
      `session policy of ${policy.length} characters exceeds AWS's ${SESSION_POLICY_MAX_CHARS}`,
      false,
    );
  }

  call.sent = true;
  const answer: AssumeRoleCommandOutput = await target.clients.sts.send(
    new AssumeRoleCommand({
      RoleArn: config.role_arn,
      RoleSessionName: req.leaseId,
      DurationSeconds: duration,
      Policy: policy,
      SourceIdentity: req.workload,
      Tags: tags,
      ...(config.external_id === undefined ? {} : { ExternalId: config.external_id }),
    }),
  );
  const issuedBefore = Date.now();
  const credentials = answer.Credentials;
  const roleId = answer.AssumedRoleUser?.AssumedRoleId?.split(':')[0];
  if (
    credentials?.AccessKeyId === undefined ||
    credentials.SecretAccessKey === undefined ||
    credentials.SessionToken === undefined ||
    credentials.Expiration === undefined ||
    roleId === undefined ||
    roleId === ''
  ) {
    throw new ProviderError(
      'provider_unavailable',
      `aws target "${config.name}": AssumeRole answered without credentials`,
      true,
    );
  }
  target.roleId = roleId;
  const credential: AwsCredential = {
    access_key_id: credentials.AccessKeyId,
    secret_access_key: credentials.SecretAccessKey,
    session_token: credentials.SessionToken,
    expires_at: expiresAt.toISOString(),
    session_expires_at: credentials.Expiration.toISOString(),
    region: config.region,
    role_arn: config.role_arn,
  };
  const handle: AwsHandle = {
    role_id: roleId,
    workload: req.workload,
    issued_before: issuedBefore,
    expires_at: req.expiresAt,
  };
  // The session policy ends access at the lease's expiry; STS's own expiry comes later.
  return { credential, handle: { ...handle }, providerExpiresAt: req.expiresAt };
}
