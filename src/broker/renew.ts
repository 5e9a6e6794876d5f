import { type Provider, ProviderError } from '../../providers/provider.js';
import { BrokerError } from '../errors.js';
import type { WorkloadPrincipal } from '../identity/types.js';
import { safeMessage } from '../leases/revoker.js';
import type { Lease } from '../leases/types.js';
import type { Caller } from '../lib/caller.js';
import type { BrokerDeps } from './deps.js';
import { emitBestEffort, sourceIpField } from './lib/events.js';
import { permittedLease } from './lib/permitted-lease.js';

/**
 * Extends a lease within its policy's `max_ttl` (counted from issuance) where the provider
 * can: `jwt` reissues the token, PostgreSQL moves `VALID UNTIL`, MySQL and Redis ACL users
 * carry no expiry of their own so only the broker's deadline moves. The provider renews
 * first and the store extends after, so a failure between them leaves the shorter deadline.
 */
export async function renewLease(
  deps: BrokerDeps,
  id: string,
  by: WorkloadPrincipal,
  ttlSeconds: number | undefined,
  caller: Caller,
): Promise<{ lease: Lease; credential?: unknown }> {
  const lease = await permittedLease(deps.store, id, by, 'lease.renew');
  if (lease.state !== 'active')
    throw new BrokerError('lease_not_active', `lease ${id} is ${lease.state}`);
  const provider = deps.runtime().providers.get(lease.target);
  if (!provider?.renew) {
    throw new BrokerError(
      'not_renewable',
      `credentials of target ${lease.target} cannot be renewed`,
    );
  }
  const now = await deps.store.now();
  const ttlMs = ttlSeconds === undefined ? lease.expiresAt - lease.createdAt : ttlSeconds * 1000;
  const expiresAt = Math.min(now + ttlMs, lease.maxExpiresAt);
  if (expiresAt <= lease.expiresAt) {
    throw new BrokerError(
      'ttl_out_of_range',
      'the lease already reaches its maximum lifetime (max_ttl)',
    );
  }
  const handle = lease.handle === undefined ? {} : deps.sealer().open(lease.id, lease.handle);
  let renewed: Awaited<ReturnType<NonNullable<Provider['renew']>>>;
  try {
    renewed = await provider.renew(handle, {
      leaseId: lease.id,
      workload: lease.workload,
      subject: lease.subject,
      // As stored: a provider that builds anything from it parses it first.
      scope: lease.scope,
      task: lease.task,
      expiresAt,
    });
  } catch (err) {
    if (err instanceof ProviderError && err.code === 'not_renewable') {
      throw new BrokerError(
        'not_renewable',
        `this credential of ${lease.target} cannot be renewed`,
      );
    }
    deps.logger.warn({ lease_id: id, err: safeMessage(err) }, 'renewal failed');
    throw new BrokerError(
      'provider_failed',
      `target ${lease.target} could not renew the credential`,
    );
  }
  const sealed =
    renewed.handle === undefined ? undefined : deps.sealer().seal(lease.id, renewed.handle);
  const extended = await deps.store.extend(lease.id, expiresAt, sealed);
  await emitBestEffort(deps, {
    type: 'lease.renewed',
    outcome: 'success',
    request_id: caller.requestId,
    workload: extended.workload,
    subject: extended.subject,
    issuer: extended.issuer,
    target: extended.target,
    provider: extended.provider,
    lease_id: extended.id,
    task: extended.task,
    policy: extended.policy,
    policy_hash: extended.policyHash,
    expires_at: new Date(extended.expiresAt).toISOString(),
    ...sourceIpField(caller),
  });
  return renewed.credential === undefined
    ? { lease: extended }
    : { lease: extended, credential: renewed.credential };
}
