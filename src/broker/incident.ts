import type { Caller } from '../lib/caller.js';
import type { BrokerDeps } from './deps.js';
import { callerFields, emitBestEffort, sourceIpField } from './lib/events.js';

/** Emergency stop of all issuance (revocation keeps working), and its end. */
export async function setFrozen(
  deps: BrokerDeps,
  frozen: boolean,
  reason: string,
  caller: Caller,
): Promise<void> {
  await deps.store.setFrozen(frozen);
  await emitBestEffort(deps, {
    type: frozen ? 'issuance.frozen' : 'issuance.unfrozen',
    severity: frozen ? 'high' : 'medium',
    outcome: 'success',
    reason,
    ...callerFields(caller),
    ...sourceIpField(caller),
  });
}

/** Lifts a kill switch's block; true when the workload was blocked. */
export async function unblockWorkload(
  deps: BrokerDeps,
  workload: string,
  caller: Caller,
): Promise<boolean> {
  const changed = await deps.store.unblock(workload);
  if (changed) {
    await emitBestEffort(deps, {
      type: 'workload.unblocked',
      outcome: 'success',
      workload,
      ...callerFields(caller),
    });
  }
  return changed;
}
