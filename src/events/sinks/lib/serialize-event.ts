import { escapeControlCharactersInJson } from '../../../lib/control-characters.js';
import { toOcsf } from '../../ocsf.js';
import type { EventFormat } from '../../sink.js';
import type { BrokerEvent } from '../../types.js';

/**
 * One event as a JSON document, native or OCSF: what every sink puts on the wire. DEL, C1 and
 * U+2028/U+2029 are escaped too, which `JSON.stringify` leaves raw: collectors that split on
 * NEL or the Unicode separators (and JavaScript before ES2019) would cut the line there.
 */
export function serializeEvent(event: BrokerEvent, format: EventFormat): string {
  return escapeControlCharactersInJson(JSON.stringify(format === 'ocsf' ? toOcsf(event) : event));
}
