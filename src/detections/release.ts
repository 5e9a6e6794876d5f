import type { EventEmitter } from '../events/types.js';
import type { Caller } from '../lib/caller.js';
import type { DetectionHolds, Hold } from './holds.js';

export interface ReleaseDeps {
  /** Absent when the broker runs without detections: nothing is ever held. */
  holds: DetectionHolds | undefined;
  events: EventEmitter;
  onEmitError?: (err: unknown) => void;
}

/** The hold a `require_approval` detection placed on the workload, while it holds. */
export async function holdOf(deps: ReleaseDeps, workload: string): Promise<Hold | null> {
  return (await deps.holds?.held(workload)) ?? null;
}

/**
 * Ends a `require_approval` hold before `hold_for` passes (an operator has looked into the
 * incident). Answers whether there was one; only then a `detection.hold_released` event
 * names the operator who lifted it and the rule that placed it.
 */
export async function releaseHold(
  deps: ReleaseDeps,
  workload: string,
  caller: Caller,
): Promise<boolean> {
  if (deps.holds === undefined) return false;
  const hold = await deps.holds.held(workload);
  const released = await deps.holds.clear(workload);
  if (!released) return false;
  try {
    await deps.events.emit(
      {
        type: 'detection.hold_released',
        outcome: 'success',
        workload,
        request_id: caller.requestId,
        ...(caller.actor === undefined ? {} : { actor: caller.actor }),
        ...(caller.sourceIp === undefined ? {} : { source_ip: caller.sourceIp }),
        ...(hold === undefined
          ? {}
          : {
              reason: `detection:${hold.rule}`,
              detail: { rule: hold.rule, at: hold.at, until: hold.until },
            }),
      },
      { failClosed: false },
    );
  } catch (err) {
    deps.onEmitError?.(err);
  }
  return true;
}
