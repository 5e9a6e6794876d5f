import { ReplyError } from 'ioredis';
import { scrubSecrets } from '../../../src/lib/scrub-secrets.js';
import { ProviderError } from '../../provider.js';
import type { HostPort } from './endpoint.js';

/**
 * A typed, scrubbed error for a failed node call. A reply from the node (`ReplyError`) is a
 * refusal: `NOPERM`/`WRONGPASS` mean the admin user lacks a right, anything else that the node
 * refused the rules. Everything else — refused connections, timeouts, a node going away — is
 * worth retrying. ioredis errors are not kept as `cause`: they carry the command arguments.
 */
export function redisFailure(
  target: string,
  node: string,
  action: string,
  err: unknown,
  secrets: readonly string[],
): ProviderError {
  if (err instanceof ProviderError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const text = scrubSecrets(
    `redis target "${target}", node ${node}: ${action} failed: ${message}`,
    secrets,
  );
  if (err instanceof ReplyError) {
    if (/^(NOPERM|WRONGPASS|NOAUTH)\b/.test(message)) {
      return new ProviderError('provider_misconfigured', text, false);
    }
    return new ProviderError('provider_rejected', text, false);
  }
  return new ProviderError('provider_unavailable', text, true);
}

/**
 * A node that resolved to the broker's own lease store when connecting: a configuration
 * error, not an outage, so not retryable. Nothing was sent to it.
 */
export function ownStoreRefusal(target: string, node: HostPort, store: HostPort): ProviderError {
  return new ProviderError(
    'provider_misconfigured',
    `redis target "${target}": node ${node.host}:${node.port} is the broker's own lease store (${store.host}:${store.port}) by address; nothing was sent to it`,
    false,
  );
}
