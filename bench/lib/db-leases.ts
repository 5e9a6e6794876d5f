import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Provider, ProviderKind } from '../../providers/provider.js';
import type { HandleSealer } from '../../src/leases/sealing.js';
import type { LeaseStore } from '../../src/leases/types.js';
import { POLICY_HASH } from './leases.js';

export interface DbLeaseSpec {
  workload: string;
  target: string;
  kind: ProviderKind;
  scope: unknown;
  ttlMs: number;
}

export interface IssuedDbLease {
  id: string;
  credential: Record<string, unknown>;
}

/**
 * Issuance's store and provider path without HTTP or policy: `create` (pending), the
 * provider's real `mint` (a role or account on the database), the handle sealed, `activate`.
 * `concurrency` issuances run at once, as concurrent requests would.
 */
export async function issueDbLeases(options: {
  store: LeaseStore;
  sealer: HandleSealer;
  provider: Provider;
  spec: DbLeaseSpec;
  count: number;
  concurrency: number;
}): Promise<{ leases: IssuedDbLease[]; ms: number }> {
  const { store, sealer, provider, spec, count } = options;
  const leases: IssuedDbLease[] = new Array(count);
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    for (let index = next++; index < count; index = next++) {
      const task = Math.floor(index / 4);
      const lease = await store.create({
        workload: spec.workload,
        subject: `spiffe://prod.example.com/ns/agents/sa/${spec.workload}`,
        issuer: 'k8s-prod',
        target: spec.target,
        provider: spec.kind,
        scope: spec.scope,
        task: {
          id: `tsk_${createHash('sha256').update(`${spec.workload}/${task}`).digest('hex').slice(0, 20)}`,
          intent: 'report',
          tool: 'run_query',
        },
        policy: 'agents-read-db',
        policyHash: POLICY_HASH,
        ttlMs: spec.ttlMs,
        maxTtlMs: spec.ttlMs,
        maxLive: 1_000_000,
      });
      const minted = await provider.mint({
        leaseId: lease.id,
        workload: spec.workload,
        subject: lease.subject,
        task: lease.task,
        scope: spec.scope,
        issuedAt: Date.now(),
        expiresAt: lease.expiresAt,
      });
      const activated = await store.activate(lease, sealer.seal(lease.id, minted.handle));
      if (activated.outcome !== 'active') {
        throw new Error(`issuing: lease ${lease.id} ended ${activated.outcome}, not active`);
      }
      leases[index] = { id: lease.id, credential: minted.credential as Record<string, unknown> };
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return { leases, ms: performance.now() - start };
}
