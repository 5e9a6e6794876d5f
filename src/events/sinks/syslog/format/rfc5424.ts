import { hostname as osHostname } from 'node:os';
import { replaceControlCharacters } from '../../../../lib/control-characters.js';
import type { BrokerEvent, Severity } from '../../../types.js';
import { serializeEvent } from '../../lib/serialize-event.js';
import { cefMessage } from './cef.js';

export type SyslogFormat = 'json' | 'ocsf' | 'cef';

export interface SyslogMessageOptions {
  format: SyslogFormat;
  /** Default 10 (authpriv). */
  facility?: number;
  /** Default `jit-broker`. */
  appName?: string;
  /** Default `os.hostname()`. */
  hostname?: string;
  /** Default `process.pid`. */
  procId?: number | string;
}

export const DEFAULT_FACILITY = 10;
export const DEFAULT_APP_NAME = 'jit-broker';
/** SD-ID of our structured data: 32473 is the private enterprise number kept for examples (RFC 5612). */
export const SD_ID = 'jit@32473';

const NILVALUE = '-';
const BOM = '\uFEFF';

/** RFC 5424 §6.2.1 severities: 2 critical, 3 error, 4 warning, 5 notice, 6 informational. */
const SYSLOG_SEVERITY: Record<Severity, number> = {
  info: 6,
  low: 5,
  medium: 4,
  high: 3,
  critical: 2,
};

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * One RFC 5424 message, without transport framing:
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [jit@32473 instance="…" seq="…"] MSG`.
 *
 * MSG is the serialized event. For `json` and `ocsf` it is UTF-8 and starts with the BOM, as
 * RFC 5424 §6.4 asks of a UTF-8 MSG. For `cef` it carries no BOM: CEF is UTF-8 by its own
 * spec, and collectors find a CEF payload by matching `CEF:` at the start of MSG, which a BOM
 * would break. So a CEF MSG is MSG-ANY to a strict RFC 5424 parser, and UTF-8 to a CEF one.
 */
export function formatSyslog(event: BrokerEvent, options: SyslogMessageOptions): string {
  const facility = options.facility ?? DEFAULT_FACILITY;
  checkFacility(facility);
  const pri = facility * 8 + SYSLOG_SEVERITY[event.severity];
  const timestamp = RFC3339.test(event.time) ? event.time : NILVALUE;
  const header = [
    `<${pri}>1`,
    timestamp,
    headerField(options.hostname ?? osHostname(), 255),
    headerField(options.appName ?? DEFAULT_APP_NAME, 48),
    headerField(String(options.procId ?? process.pid), 128),
    headerField(event.type, 32),
  ].join(' ');
  const sd = `[${SD_ID} instance="${sdParam(event.instance)}" seq="${sdParam(String(event.seq))}"]`;
  const msg =
    options.format === 'cef' ? cefMessage(event) : BOM + serializeEvent(event, options.format);
  return `${header} ${sd} ${msg}`;
}

export function checkFacility(facility: number): void {
  if (!Number.isInteger(facility) || facility < 0 || facility > 23) {
    throw new TypeError(`syslog facility must be an integer 0–23, not ${facility}`);
  }
}

/** PRINTUSASCII only (%d33-126), at most `max` characters; NILVALUE when nothing is left. */
function headerField(value: string, max: number): string {
  let out = '';
  for (const char of value) {
    if (out.length >= max) break;
    const code = char.codePointAt(0) ?? 0;
    out += code >= 33 && code <= 126 ? char : '_';
  }
  return out === '' ? NILVALUE : out;
}

/**
 * RFC 5424 §6.3.3: `"`, `\` and `]` are escaped with a backslash in PARAM-VALUE. The RFC has no
 * escape for control characters there (§6.3.3 keeps any other backslash literal) but lets a
 * sender change them (§8.2): each becomes U+FFFD, so a receiver that splits on line breaks
 * still sees one message.
 */
function sdParam(value: string): string {
  return replaceControlCharacters(value.replace(/["\\\]]/g, '\\$&'));
}
