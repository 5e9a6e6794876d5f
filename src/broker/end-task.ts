import { permits, permitsOnLease } from '../access/permits.js';
import { BrokerError } from '../errors.js';
import type { Principal } from '../identity/types.js';
import type { RevokeRequest } from '../leases/types.js';
import type { Caller } from '../lib/caller.js';
import type { BrokerDeps } from './deps.js';
import { callerFields, emitBestEffort, sourceIpField } from './lib/events.js';
import { revokeRequested } from './lib/revocation.js';
import type { RevocationCounts } from './types.js';

export type TaskRevocation = RevocationCounts & { task: string; workload: string };

/** Ends a task: revokes the task's leases of one workload. */
export async function endTask(
  deps: BrokerDeps,
  workload: string,
  taskId: string,
  by: Principal,
  caller: Caller,
): Promise<TaskRevocation> {
  // Someone else's task is as absent as one that never existed.
  if (!permits(by, 'task.end', { owner: workload })) {
    throw new BrokerError('not_found', 'no such task');
  }
  const ids = await revocableTaskLeases(deps, workload, taskId, by);
  const requests = await deps.store.requestRevoke(ids, 'task_ended');
  const counts = await revokeRequested(deps, requests, caller);
  await emitBestEffort(deps, {
    type: 'task.ended',
    outcome: 'success',
    workload,
    ...(by.kind === 'workload' ? { subject: by.identity.subject, issuer: by.identity.issuer } : {}),
    task: { id: taskId, intent: taskIntentOf(requests) },
    ...callerFields(caller),
    ...sourceIpField(caller),
    counts,
  });
  return { task: taskId, workload, ...counts };
}

function taskIntentOf(requests: readonly RevokeRequest[]): string {
  for (const r of requests) {
    if (r.status === 'claimed') return r.claim.lease.task.intent;
    if (r.status === 'revoked') return r.lease.task.intent;
  }
  return '';
}

/**
 * The task's leases `by` may revoke. For a workload whose leases are owned per identity
 * (`lease_owner: identity`), only those issued to the caller's own identity: another
 * identity of the same workload cannot end them by naming the task.
 */
async function revocableTaskLeases(
  deps: BrokerDeps,
  workload: string,
  taskId: string,
  by: Principal,
): Promise<string[]> {
  const ids = await deps.store.taskLeases(workload, taskId);
  if (by.kind !== 'workload' || by.workload.lease_owner !== 'identity') return ids;
  const leases = await Promise.all(ids.map((id) => deps.store.get(id)));
  return leases.flatMap((lease) =>
    lease !== null && permitsOnLease(by, 'task.end', lease) ? [lease.id] : [],
  );
}
