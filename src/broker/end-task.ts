import { permits } from '../access/permits.js';
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
  const ids = await deps.store.taskLeases(workload, taskId);
  const requests = await deps.store.requestRevoke(ids, 'task_ended');
  const counts = await revokeRequested(deps, requests, caller);
  await emitBestEffort(deps, {
    type: 'task.ended',
    outcome: 'success',
    workload,
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
