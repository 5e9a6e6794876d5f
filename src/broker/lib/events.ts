import type { EventInput } from '../../events/types.js';
import { safeMessage } from '../../leases/revoker.js';
import type { Caller } from '../../lib/caller.js';
import type { BrokerDeps } from '../deps.js';

/**
 * Emits an event that must not fail the operation it records: revocation and operator
 * actions never wait on the audit trail (issuance does, and emits fail-closed itself).
 */
export async function emitBestEffort(
  deps: Pick<BrokerDeps, 'events' | 'logger'>,
  event: EventInput,
): Promise<void> {
  try {
    await deps.events.emit(event, { failClosed: false });
  } catch (err) {
    deps.logger.error({ type: event.type, err: safeMessage(err) }, 'event not emitted');
  }
}

/** The request and the operator behind an event. */
export function callerFields(caller: Caller): Pick<EventInput, 'request_id' | 'actor'> {
  return {
    request_id: caller.requestId,
    ...(caller.actor === undefined ? {} : { actor: caller.actor }),
  };
}

/** The caller's address, in the events' wire name. */
export function sourceIpField(caller: Caller): Pick<EventInput, 'source_ip'> {
  return caller.sourceIp === undefined ? {} : { source_ip: caller.sourceIp };
}
