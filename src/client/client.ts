import {
  type AwsCredentialProvider,
  type AwsCredentialsOptions,
  awsCredentials,
} from './aws-credentials.js';
import { JitBrokerError } from './errors.js';
import { type RetryOptions, send, type Transport } from './lib/transport.js';
import {
  readIntrospection,
  readLease,
  readLeaseInfo,
  readRevocation,
  readTaskRevocation,
} from './lib/wire.js';
import type {
  CredentialRequest,
  Introspection,
  Lease,
  LeaseInfo,
  Revocation,
  TaskRevocation,
} from './types.js';

export interface JitBrokerClientOptions {
  /** The broker's base URL, e.g. `https://jit-broker.internal:8443`. */
  url: string;
  /**
   * The workload identity JWT, asked for on every request so a rotated token is picked up
   * (see `tokenFile`).
   */
  token: () => string | Promise<string>;
  fetch?: typeof fetch;
  /** Per attempt, including reading the body. Default 10 000. */
  timeoutMs?: number;
  userAgent?: string;
  retry?: RetryOptions;
  /** Plain `http:` to a host other than loopback sends the workload token in clear. */
  allowInsecureHttp?: boolean;
  /**
   * Called when `withCredential` could not revoke its lease (the lease still ends at its
   * expiry). Default: a process warning naming the lease id and the error code.
   */
  onRevokeError?: (error: unknown, leaseId: string) => void;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

function baseUrl(raw: string, allowInsecureHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError('JitBrokerClient: options.url is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new TypeError('JitBrokerClient: options.url must be http: or https:');
  if (url.protocol === 'http:' && !allowInsecureHttp && !LOOPBACK.has(url.hostname))
    throw new TypeError(
      'JitBrokerClient: plain http: is only allowed to loopback unless allowInsecureHttp is set',
    );
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '')
    throw new TypeError('JitBrokerClient: options.url must not carry credentials, query or hash');
  return url.href.replace(/\/+$/, '');
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`JitBrokerClient: ${name} < 0`);
  return value;
}

function warnRevokeFailed(error: unknown, leaseId: string): void {
  const code = error instanceof JitBrokerError ? error.code : 'unknown_error';
  process.emitWarning(`lease ${leaseId} was not revoked (${code}); it ends at its expiry`, {
    type: 'JitBrokerWarning',
  });
}

const path = (segment: string) => encodeURIComponent(segment);

/**
 * The broker as a workload sees it: ask for a credential bound to a task, give it back
 * when done. Every call authenticates with the workload's own identity token.
 */
export class JitBrokerClient {
  readonly #transport: Transport;
  readonly #onRevokeError: (error: unknown, leaseId: string) => void;

  constructor(options: JitBrokerClientOptions) {
    if (typeof options.token !== 'function')
      throw new TypeError('JitBrokerClient: options.token must be a function');
    const maxAttempts = positive('retry.maxAttempts', options.retry?.maxAttempts, 3);
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
      throw new TypeError('JitBrokerClient: retry.maxAttempts must be an integer >= 1');
    this.#transport = {
      baseUrl: baseUrl(options.url, options.allowInsecureHttp ?? false),
      token: options.token,
      fetch: options.fetch ?? globalThis.fetch,
      timeoutMs: positive('timeoutMs', options.timeoutMs, 10_000),
      userAgent: options.userAgent ?? 'jit-broker-client/0.1',
      retry: {
        maxAttempts,
        baseDelayMs: positive('retry.baseDelayMs', options.retry?.baseDelayMs, 200),
        maxDelayMs: positive('retry.maxDelayMs', options.retry?.maxDelayMs, 5_000),
      },
    };
    this.#onRevokeError = options.onRevokeError ?? warnRevokeFailed;
  }

  /**
   * `POST /v1/credentials`. A lost response (network error, timeout) is not retried: the
   * lease may exist, and ends at its TTL or when the task ends (`endTask`).
   */
  async getCredential<C = unknown>(request: CredentialRequest): Promise<Lease<C>> {
    const answer = await send(this.#transport, {
      method: 'POST',
      path: '/v1/credentials',
      json: request,
    });
    return readLease<C>(answer);
  }

  /** `DELETE /v1/leases/{id}`; revoking a finished lease succeeds. */
  async revoke(leaseId: string): Promise<Revocation> {
    const answer = await send(this.#transport, {
      method: 'DELETE',
      path: `/v1/leases/${path(leaseId)}`,
    });
    return readRevocation(answer);
  }

  /** `POST /v1/tasks/{task_id}/revoke`: revoke every lease this workload holds for the task. */
  async endTask(taskId: string): Promise<TaskRevocation> {
    const answer = await send(this.#transport, {
      method: 'POST',
      path: `/v1/tasks/${path(taskId)}/revoke`,
    });
    return readTaskRevocation(answer);
  }

  /** `GET /v1/leases/{id}`: metadata only, never the credential. */
  async getLease(leaseId: string): Promise<LeaseInfo> {
    const answer = await send(this.#transport, {
      method: 'GET',
      path: `/v1/leases/${path(leaseId)}`,
    });
    return readLeaseInfo(answer);
  }

  /**
   * `POST /v1/introspect` (RFC 7662), for a resource server checking a broker-signed token
   * whose audience it serves. Anything else is `{ active: false }`.
   */
  async introspect(token: string): Promise<Introspection> {
    const answer = await send(this.#transport, {
      method: 'POST',
      path: '/v1/introspect',
      form: { token },
    });
    return readIntrospection(answer);
  }

  /**
   * An AWS SDK v3 credential provider for an AWS target (`credentials:` of any SDK client):
   * it keeps a lease and asks for the next before it expires. See `awsCredentials`.
   */
  awsCredentials(options: AwsCredentialsOptions): AwsCredentialProvider {
    return awsCredentials(this, options);
  }

  /**
   * Run `fn` with a fresh credential and revoke its lease afterwards, whether `fn` returned
   * or threw. A failed revocation goes to `onRevokeError` rather than replacing `fn`'s
   * result or error: the work is done, and the lease ends at its expiry anyway.
   */
  async withCredential<C = unknown, T = unknown>(
    request: CredentialRequest,
    fn: (credential: C, lease: Lease<C>) => Promise<T>,
  ): Promise<T> {
    const lease = await this.getCredential<C>(request);
    try {
      return await fn(lease.credential, lease);
    } finally {
      try {
        await this.revoke(lease.leaseId);
      } catch (error) {
        this.#onRevokeError(error, lease.leaseId);
      }
    }
  }
}
