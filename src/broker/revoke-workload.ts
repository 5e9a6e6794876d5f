import type { RevokeTally } from '../leases/revoker.js';
import { safeMessage } from '../leases/revoker.js';
import type { Lease } from '../leases/types.js';
import type { Caller } from '../lib/caller.js';
import { untilDeadline } from '../lib/time-limit.js';
import type { BrokerDeps } from './deps.js';
import { callerFields, emitBestEffort, sourceIpField } from './lib/events.js';
import type { WorkloadRevocationResult } from './types.js';

/** The kill switch: every lease of one workload, in one call. */
export async function revokeWorkload(
  deps: BrokerDeps,
  workload: string,
  options: { reason: string; block: boolean },
  caller: Caller,
): Promise<WorkloadRevocationResult> {
  // The deadline counts from the call, and each chunk of claims is revoked as soon as it
  // is claimed rather than after the last one.
  const deadline = Date.now() + deps.killSwitchDeadlineMs;
  const receipt = await beginReceipt(deps, workload, options, caller);
  // Started, not awaited: a slow provider must not hold up the store's claims of every other
  // lease; its request is queued before any lease's own revocation can be.
  const atProviders = revokeAtProviders(deps, workload);
  const tally: RevokeTally = { revoked: 0, failed: 0, pending: 0 };
  const running: Promise<void>[] = [];
  const revokedInPlace: Lease[] = [];
  // The store refuses the workload's tokens once its epoch is written, before the first chunk
  // is claimed: the holders are told then, not once the providers are done.
  let started: Promise<void> | undefined;
  const announce = () => {
    started ??= emitBestEffort(deps, {
      type: 'workload.revoking',
      severity: 'high',
      outcome: 'success',
      workload,
      reason: options.reason,
      ...callerFields(caller),
      detail: { block: options.block },
      ...sourceIpField(caller),
    });
  };
  const revocation = await deps.store.revokeWorkload(workload, options, (claims, inPlace) => {
    announce();
    tally.revoked += inPlace.length;
    revokedInPlace.push(...inPlace);
    running.push(deps.revoker.executeInto(claims, caller, tally));
  });
  // Their events are chained once the store work is done, not between its chunks.
  announce();
  deps.revoker.recordInPlace(revokedInPlace, caller);
  await untilDeadline(
    Promise.all([...running, atProviders]).then(() => undefined),
    deadline - Date.now(),
  );
  await started;
  const result: WorkloadRevocationResult = {
    workload,
    blocked: options.block,
    revoked: tally.revoked,
    revoking: tally.pending + revocation.deferred + revocation.inProgress,
    failed: tally.failed,
  };
  const common = {
    outcome: 'success' as const,
    workload,
    reason: options.reason,
    ...callerFields(caller),
  };
  await emitBestEffort(deps, {
    ...common,
    type: 'workload.revoked',
    severity: 'high',
    counts: { revoked: result.revoked, revoking: result.revoking, failed: result.failed },
    // Names the receipt this kill switch began, so its answer lands in no later one.
    ...(receipt === undefined ? {} : { detail: { receipt } }),
    ...sourceIpField(caller),
  });
  if (options.block) {
    await emitBestEffort(deps, { ...common, type: 'workload.blocked', severity: 'high' });
  }
  return result;
}

/**
 * Providers that can revoke a whole workload in one step are asked first, so each lease's
 * own revocation finds it done. A failure leaves the per-lease revocations to do the work.
 */
async function revokeAtProviders(deps: BrokerDeps, workload: string): Promise<void> {
  const providers = [...deps.runtime().providers.values()];
  await Promise.all(
    providers.map(async (provider) => {
      if (provider.revokeWorkload === undefined) return;
      await provider.revokeWorkload(workload).catch((err: unknown) => {
        deps.logger.warn(
          { target: provider.target, workload, err: safeMessage(err) },
          'workload revocation at the provider failed; revoking lease by lease',
        );
      });
    }),
  );
}

/**
 * The kill switch's receipt starts before any of its leases is revoked, so every verification
 * finds it. Revocation never waits on it beyond one write: a failure is logged. Answers the
 * receipt's id, or undefined when none was begun.
 */
async function beginReceipt(
  deps: BrokerDeps,
  workload: string,
  options: { reason: string; block: boolean },
  caller: Caller,
): Promise<string | undefined> {
  if (deps.receipts === undefined) return undefined;
  const start = {
    workload,
    reason: options.reason,
    blocked: options.block,
    ...(caller.actor === undefined ? {} : { by: caller.actor }),
  };
  return deps.receipts.store.begin(start, deps.receipts.ttlMs).catch((err: unknown) => {
    deps.logger.warn({ workload, err: safeMessage(err) }, 'revocation receipt not started');
    return undefined;
  });
}
