import type { JitBrokerClient } from './client.js';
import type { CredentialRequest, Lease, TaskRevocation } from './types.js';

export interface CredentialCacheOptions {
  /** Stop handing out a credential this long before it expires. Default 30 000. */
  skewMs?: number;
  now?: () => number;
}

/** Object keys sorted, so `{a, b}` and `{b, a}` name the same scope. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Reuses a lease for the same target, scope and task (id, intent, tool) until `skewMs`
 * before it expires, so a tool called in a loop does not mint a credential per call.
 * A request with a different `ttl` or `context` still reuses the cached lease. Concurrent
 * misses for one key share a single broker call. Leases revoked behind the cache's back (an
 * operator's kill switch) stay cached until `evict`: evict when the resource answers 401.
 */
export class CredentialCache {
  readonly #client: JitBrokerClient;
  readonly #skewMs: number;
  readonly #now: () => number;
  readonly #leases = new Map<string, { taskId: string; lease: Promise<Lease<unknown>> }>();

  constructor(client: JitBrokerClient, options: CredentialCacheOptions = {}) {
    const skewMs = options.skewMs ?? 30_000;
    if (!Number.isFinite(skewMs) || skewMs < 0)
      throw new TypeError('CredentialCache: skewMs must be >= 0');
    this.#client = client;
    this.#skewMs = skewMs;
    this.#now = options.now ?? Date.now;
  }

  static key(request: CredentialRequest): string {
    const { id, intent, tool } = request.task;
    return canonical([request.target, request.scope, id, intent, tool ?? null]);
  }

  async get<C = unknown>(request: CredentialRequest): Promise<Lease<C>> {
    const key = CredentialCache.key(request);
    const cached = this.#leases.get(key);
    if (cached) {
      const lease = await cached.lease.catch(() => undefined);
      if (lease && lease.expiresAt.getTime() - this.#skewMs > this.#now()) return lease as Lease<C>;
      // Only drop the entry we looked at: another caller may have replaced it meanwhile.
      if (this.#leases.get(key) === cached) this.#leases.delete(key);
      return this.get<C>(request);
    }
    const lease = this.#client.getCredential<unknown>(request);
    const entry = { taskId: request.task.id, lease };
    this.#leases.set(key, entry);
    try {
      return (await lease) as Lease<C>;
    } catch (error) {
      if (this.#leases.get(key) === entry) this.#leases.delete(key);
      throw error;
    }
  }

  /** Forget the cached lease for this request (without revoking it). */
  evict(request: CredentialRequest): void {
    this.#leases.delete(CredentialCache.key(request));
  }

  /** Forget the task's cached leases and revoke all of the task's leases at the broker. */
  async endTask(taskId: string): Promise<TaskRevocation> {
    for (const [key, entry] of this.#leases) if (entry.taskId === taskId) this.#leases.delete(key);
    return this.#client.endTask(taskId);
  }

  /** Revoke every cached lease and empty the cache, e.g. on shutdown. */
  async revokeAll(): Promise<void> {
    const entries = [...this.#leases.values()];
    this.#leases.clear();
    const leases = await Promise.allSettled(entries.map((e) => e.lease));
    const revocations = leases.flatMap((r) =>
      r.status === 'fulfilled' ? [this.#client.revoke(r.value.leaseId)] : [],
    );
    const results = await Promise.allSettled(revocations);
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0)
      throw new AggregateError(
        failed.map((r) => (r as PromiseRejectedResult).reason),
        `${failed.length} cached lease(s) could not be revoked`,
      );
  }
}
