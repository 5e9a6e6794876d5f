import { BrokerError } from '../errors.js';
import type { IssuanceFreeze } from '../leases/types.js';
import type { Caller } from '../lib/caller.js';
import type { BrokerDeps } from './deps.js';
import { callerFields, emitBestEffort, sourceIpField } from './lib/events.js';

/**
 * Emergency stop of all issuance (revocation keeps working), and its end. The store keeps
 * who froze it, when and why, so every replica (and `GET /v1/freeze`) can tell.
 */
export async function setFrozen(
  deps: BrokerDeps,
  frozen: boolean,
  reason: string,
  caller: Caller,
): Promise<void> {
  await deps.store.setFrozen(
    frozen ? { by: caller.actor ?? 'unknown', at: await deps.store.now(), reason } : null,
  );
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

/**
 * The refusal of a request while issuance is frozen. It says since when, so a caller can tell
 * a long incident from a blip, but not who or why: those are for operators (`GET /v1/freeze`).
 */
export function issuanceFrozen(freeze: Partial<IssuanceFreeze>): BrokerError {
  const since = freeze.at === undefined ? '' : ` since ${new Date(freeze.at).toISOString()}`;
  return new BrokerError('issuance_frozen', `issuance is frozen by an operator${since}`, {
    retryAfter: 60,
  });
}
