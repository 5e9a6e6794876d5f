import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Provider, RevocationHandle } from '../../providers/provider.js';
import type { HandleSealer } from '../../src/leases/sealing.js';
import type { Lease, LeaseStore, NewLease } from '../../src/leases/types.js';
import { newLeaseId } from '../../src/lib/ids.js';

/** A policy-set hash as the policy engine stamps it (`sha256:` + 64 hex). */
export const POLICY_HASH = `sha256:${createHash('sha256').update('bench-policies').digest('hex')}`;

export interface LeaseSpec {
  workload: string;
  /** Index of the lease's task within its workload. */
  task: number;
  target: string;
  ttlMs: number;
}

/** A lease with the fields a real issuance writes: two scopes, a task with its tool, an actor-less jwt grant. */
export function realisticLease(spec: LeaseSpec): NewLease {
  return {
    workload: spec.workload,
    subject: `spiffe://prod.example.com/ns/agents/sa/${spec.workload}`,
    issuer: 'k8s-prod',
    target: spec.target,
    provider: 'jwt',
    scope: { scopes: ['tickets:read', 'tickets:comment'] },
    task: {
      id: `tsk_${createHash('sha256').update(`${spec.workload}/${spec.task}`).digest('hex').slice(0, 20)}`,
      intent: 'triage',
      tool: 'search_tickets',
    },
    policy: 'agents-read-tickets',
    policyHash: POLICY_HASH,
    ttlMs: spec.ttlMs,
    maxTtlMs: Math.max(spec.ttlMs, 900_000),
    maxLive: 1_000_000,
  };
}

export interface SeedOptions {
  store: LeaseStore;
  /**
   * Seals `handle` for each lease. Without it (a bench that never revokes) every lease is
   * activated with a placeholder where the sealed handle would be.
   */
  sealer?: HandleSealer;
  count: number;
  /** The i-th lease. */
  lease: (index: number) => LeaseSpec;
  /** The revocation handle the provider would have returned for this lease id. */
  handle?: (leaseId: string) => RevocationHandle;
  /** Issuances in flight at once. */
  concurrency?: number;
  /** Called after each activation with the lease's index and id. */
  onActive?: (index: number, id: string) => void;
}

export interface Seeded {
  ids: string[];
  ms: number;
  /** Length of one sealed handle as stored. */
  sealedBytes: number;
}

/**
 * Issuance's store path without HTTP, policy or minting: `create` (pending) then `activate`
 * with a sealed handle, many at once, as concurrent requests would.
 */
export async function seedActiveLeases(options: SeedOptions): Promise<Seeded> {
  const { store, sealer, count } = options;
  const ids: string[] = new Array(count);
  let next = 0;
  let sealedBytes = 0;
  const start = performance.now();
  const worker = async () => {
    for (let index = next++; index < count; index = next++) {
      const lease = await store.create(realisticLease(options.lease(index)));
      const sealed =
        sealer === undefined || options.handle === undefined
          ? 'sealed-handle'
          : sealer.seal(lease.id, options.handle(lease.id));
      sealedBytes = sealed.length;
      const activated = await store.activate(lease, sealed);
      if (activated.outcome !== 'active') {
        throw new Error(`seeding: lease ${lease.id} ended ${activated.outcome}, not active`);
      }
      ids[index] = lease.id;
      options.onActive?.(index, lease.id);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 256 }, worker));
  return { ids, ms: performance.now() - start, sealedBytes };
}

/**
 * The handle a provider returns for a lease like `realisticLease` describes, minted once: the
 * jwt provider's handle does not depend on the lease id (`jti` is the lease id itself).
 */
export async function templateHandle(
  provider: Provider,
  spec: LeaseSpec,
): Promise<RevocationHandle> {
  const lease = realisticLease(spec);
  const now = Date.now();
  const minted = await provider.mint({
    leaseId: newLeaseId(lease.workload),
    workload: lease.workload,
    subject: lease.subject,
    // A cluster issuer URL as long as EKS's: the jwt handle keeps it (the `act` claim).
    subjectIssuer: 'https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF',
    task: lease.task,
    scope: lease.scope,
    issuedAt: now,
    expiresAt: now + spec.ttlMs,
  });
  return minted.handle;
}

/** Live (unfinished) leases of a workload, as the store counts them. */
export async function liveLeases(store: LeaseStore, workload: string): Promise<number> {
  return (await store.workloads()).find((w) => w.workload === workload)?.live ?? 0;
}

/** How many of these leases are in each state, read back through the store. */
export async function statesOf(
  store: LeaseStore,
  ids: readonly string[],
): Promise<{ states: Map<string, number>; leases: Lease[] }> {
  const states = new Map<string, number>();
  const leases: Lease[] = [];
  for (let i = 0; i < ids.length; i += 1000) {
    const batch = await Promise.all(ids.slice(i, i + 1000).map((id) => store.get(id)));
    for (const lease of batch) {
      const state = lease?.state ?? 'missing';
      states.set(state, (states.get(state) ?? 0) + 1);
      if (lease) leases.push(lease);
    }
  }
  return { states, leases };
}
