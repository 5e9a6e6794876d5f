import { type AwsCredentialIdentity, awsIdentity } from './aws-credential.js';
import type { JitBrokerClient } from './client.js';
import type { CredentialRequest } from './types.js';

/** What a request to an AWS target asks for: actions on resources (ARNs or ARN patterns). */
export interface AwsScope {
  actions: string[];
  resources: string[];
  [key: string]: unknown;
}

export interface AwsCredentialsOptions extends Omit<CredentialRequest, 'scope'> {
  scope: AwsScope;
  /**
   * Ask the broker for a new lease this long before the current one expires. Default
   * 30 000; never more than half the lease's lifetime, so a short TTL is still reused.
   */
  refreshMarginMs?: number;
  now?: () => number;
}

/**
 * An AWS SDK v3 credential provider (`AwsCredentialIdentityProvider`): pass it as a
 * client's `credentials`. The SDK's `forceRefresh` is honoured.
 */
export type AwsCredentialProvider = (properties?: {
  forceRefresh?: boolean;
}) => Promise<AwsCredentialIdentity>;

/**
 * A credential provider backed by the broker. It holds one lease and asks for the next
 * `refreshMarginMs` before it expires; callers that arrive while a request is out share
 * it. A failed request is not cached and is thrown as the client's `JitBrokerError`, even
 * when the previous credential has not quite expired: a refusal (a blocked workload, a
 * frozen broker) must reach the caller. A replaced lease is not revoked (requests signed
 * with it may still be in flight); it ends at its TTL, or with `endTask`. A lease whose
 * credential is not an AWS session is revoked at once.
 */
export function awsCredentials(
  client: JitBrokerClient,
  options: AwsCredentialsOptions,
): AwsCredentialProvider {
  const { refreshMarginMs = 30_000, now = Date.now, ...request } = options;
  if (!Number.isFinite(refreshMarginMs) || refreshMarginMs < 0)
    throw new TypeError('awsCredentials: refreshMarginMs must be >= 0');
  if (!Array.isArray(request.scope?.actions) || !Array.isArray(request.scope?.resources))
    throw new TypeError('awsCredentials: scope needs actions and resources arrays');

  let current: { identity: AwsCredentialIdentity; refreshAt: number } | undefined;
  let pending: Promise<AwsCredentialIdentity> | undefined;

  const fetchLease = async (): Promise<AwsCredentialIdentity> => {
    try {
      const lease = await client.getCredential<unknown>(request);
      let identity: AwsCredentialIdentity;
      try {
        identity = awsIdentity(lease.credential, lease.expiresAt);
      } catch (err) {
        // Nobody can use what came back: end its lease now rather than at its TTL.
        await client.revoke(lease.leaseId).catch(() => undefined);
        throw err;
      }
      const expiresAt = identity.expiration.getTime();
      const lifetime = expiresAt - lease.issuedAt.getTime();
      const margin = Math.min(refreshMarginMs, Math.max(0, lifetime / 2));
      current = { identity, refreshAt: expiresAt - margin };
      return identity;
    } finally {
      pending = undefined;
    }
  };

  return async function brokerAwsCredentials(properties) {
    if (current !== undefined && properties?.forceRefresh !== true && now() < current.refreshAt)
      return current.identity;
    pending ??= fetchLease();
    return pending;
  };
}
