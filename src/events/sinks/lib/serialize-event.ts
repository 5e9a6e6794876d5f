import { toOcsf } from '../../ocsf.js';
import type { EventFormat } from '../../sink.js';
import type { BrokerEvent } from '../../types.js';

/** One event as a JSON document, native or OCSF: what every sink puts on the wire. */
export function serializeEvent(event: BrokerEvent, format: EventFormat): string {
  return JSON.stringify(format === 'ocsf' ? toOcsf(event) : event);
}
