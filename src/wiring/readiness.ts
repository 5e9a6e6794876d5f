import type { Provider } from '../../providers/provider.js';
import { safeMessage } from '../leases/revoker.js';
import type { LeaseStore } from '../leases/types.js';

export interface Check {
  ok: boolean;
  detail?: string;
}

export interface ReadinessReport {
  ok: boolean;
  checks: Record<string, Check>;
}

export interface Readiness {
  /** What a load balancer needs: does the lease store answer? No details. */
  ready(): Promise<boolean>;
  /** For operators: the store and every target's own health check. */
  report(): Promise<ReadinessReport>;
}

export interface ReadinessOptions {
  store: LeaseStore;
  providers: () => ReadonlyMap<string, Provider>;
  /** How long a target's answer is reused. */
  targetCacheMs?: number;
  now?: () => number;
}

interface Cached<T> {
  at: number;
  value: Promise<T>;
}

/**
 * Readiness with cached target answers. Readiness is unauthenticated, and every target's health
 * check is a call to somebody else (a GitHub App JWT request, a database query): without the
 * cache, a flood of `/readyz` calls becomes a flood at GitHub and the databases. Concurrent
 * callers share one check in flight. Readiness fails only on the lease store: a GitHub or
 * database outage must not take introspection and revocation for every other target out of
 * the load balancer.
 */
export function createReadiness(options: ReadinessOptions): Readiness {
  const now = options.now ?? Date.now;
  const targetMs = options.targetCacheMs ?? 10_000;
  // Keyed by the provider object, so a reload's new targets are checked afresh.
  const targets = new WeakMap<Provider, Cached<Check>>();
  // The store's answer is never reused (one PING; a load balancer must see an outage at
  // once), but concurrent callers share the one in flight.
  let storeInFlight: Promise<Check> | undefined;

  const cached = <T>(entry: Cached<T> | undefined, ttl: number, run: () => Promise<T>) =>
    entry !== undefined && now() - entry.at < ttl ? entry : { at: now(), value: run() };

  const storeCheck = (): Promise<Check> => {
    storeInFlight ??= options.store
      .ping()
      .then(
        (): Check => ({ ok: true }),
        (err: unknown): Check => ({ ok: false, detail: safeMessage(err) }),
      )
      .finally(() => {
        storeInFlight = undefined;
      });
    return storeInFlight;
  };

  const targetCheck = (provider: Provider): Promise<Check> => {
    const entry = cached(targets.get(provider), targetMs, () =>
      provider.check().then(
        (health): Check =>
          health.detail === undefined
            ? { ok: health.ok }
            : { ok: health.ok, detail: health.detail },
        (err: unknown): Check => ({ ok: false, detail: safeMessage(err) }),
      ),
    );
    targets.set(provider, entry);
    return entry.value;
  };

  return {
    async ready() {
      return (await storeCheck()).ok;
    },
    async report() {
      const checks: Record<string, Check> = { lease_store: await storeCheck() };
      const providers = [...options.providers().values()];
      const answers = await Promise.all(providers.map(targetCheck));
      providers.forEach((p, i) => {
        const answer = answers[i];
        if (answer !== undefined) checks[`target:${p.target}`] = answer;
      });
      return { ok: checks.lease_store?.ok === true, checks };
    },
  };
}
