import type { WorkloadRevocationResult } from '../broker/types.js';
import type { EventEmitter, EventInput } from '../events/types.js';
import type { OperatorPrincipal } from '../identity/types.js';
import type { Caller } from '../lib/caller.js';
import type { DetectionHolds } from './holds.js';
import type { Firing } from './types.js';

/** The kill switch, as the Broker facade offers it. */
export type KillSwitch = (
  workload: string,
  options: { reason: string; block: boolean },
  by: OperatorPrincipal,
  caller: Caller,
) => Promise<WorkloadRevocationResult>;

export interface ActionDeps {
  events: EventEmitter;
  holds: DetectionHolds;
  killSwitch: KillSwitch;
}

/** Who the audit trail says acted: the rule, never a person (`detection:<rule>`). */
export function detectionActor(rule: string): string {
  return `detection:${rule}`;
}

/**
 * Carries out a firing. Under `enforce`: `require_approval` holds the workload's grants for
 * an approver until `hold_for` passes, `block` pulls the kill switch with block (reason and
 * actor `detection:<rule>`). Then, whatever the mode, one `detection.fired` event with the
 * evidence and what was done. A detection only ever acts on a workload: operators and
 * break-glass tokens are not workloads, so nothing here can lock them out.
 */
export async function act(deps: ActionDeps, firing: Firing): Promise<EventInput> {
  const taken: Record<string, unknown> = {};
  const enforce = firing.mode === 'enforce';
  const actor = detectionActor(firing.rule);
  const caller: Caller = { requestId: `det_${firing.trigger.id}`, actor };
  if (enforce && firing.actions.includes('require_approval')) {
    const until = new Date(Date.now() + firing.hold_for_ms).toISOString();
    try {
      await deps.holds.place(
        firing.workload,
        { rule: firing.rule, at: firing.at, until },
        firing.hold_for_ms,
      );
      taken.require_approval = { until };
    } catch (err) {
      taken.require_approval = { failed: (err as Error).message.slice(0, 200) };
    }
  }
  if (enforce && firing.actions.includes('block')) {
    const principal: OperatorPrincipal = {
      kind: 'operator',
      name: actor,
      roles: ['admin'],
      via: 'jwt',
      expiresAt: Number.MAX_SAFE_INTEGER,
      // No token stands behind a detection's action.
      tokenHash: '',
    };
    try {
      const result = await deps.killSwitch(
        firing.workload,
        { reason: actor, block: true },
        principal,
        caller,
      );
      taken.block = { revoked: result.revoked, revoking: result.revoking, failed: result.failed };
    } catch (err) {
      taken.block = { failed: (err as Error).message.slice(0, 200) };
    }
  }
  if (enforce && firing.actions.includes('alert')) taken.alert = true;
  const event = firedEvent(firing, taken, caller);
  await deps.events.emit(event, { failClosed: false });
  return event;
}

/** The `detection.fired` event: evidence and outcome, no secret (ids, counts, settings). */
export function firedEvent(
  firing: Firing,
  taken: Record<string, unknown>,
  caller?: Caller,
): EventInput {
  const alerting = firing.actions.includes('alert');
  return {
    type: 'detection.fired',
    severity: firing.mode === 'dry_run' ? 'low' : alerting ? 'high' : 'medium',
    outcome: 'success',
    workload: firing.workload,
    reason: detectionActor(firing.rule),
    ...(caller === undefined ? {} : { request_id: caller.requestId }),
    detail: {
      rule: firing.rule,
      kind: firing.kind,
      mode: firing.mode,
      actions: firing.actions,
      taken,
      at: firing.at,
      trigger: firing.trigger,
      events: firing.events,
      cooldown_ms: firing.cooldown_ms,
      evidence: firing.evidence,
    },
  };
}
