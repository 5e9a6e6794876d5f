import { isIP } from 'node:net';
import {
  REPLACEMENT_CHARACTER,
  replaceControlCharacters,
} from '../../../../lib/control-characters.js';
import { summaryOf } from '../../../auth-failures.js';
import type { BrokerEvent, EventType, Severity } from '../../../types.js';

/**
 * CEF severity 0–10 (ArcSight bands: 0–3 low, 4–6 medium, 7–8 high, 9–10 very high). `low`
 * shares `info`'s 3 so that it stays in the low band.
 */
const CEF_SEVERITY: Record<Severity, number> = {
  info: 3,
  low: 3,
  medium: 5,
  high: 8,
  critical: 10,
};

/** CEF `Name`: what a SIEM console shows. */
const CEF_NAMES: Record<EventType, string> = {
  'credential.issued': 'Credential issued',
  'credential.denied': 'Credential denied',
  'auth.failed': 'Authentication failed',
  'lease.revoked': 'Lease revoked',
  'lease.expired': 'Lease expired',
  'lease.renewed': 'Lease renewed',
  'lease.revoke_failed': 'Lease revocation failed',
  'task.ended': 'Task ended',
  'workload.revoking': 'Workload revocation started',
  'workload.revoked': 'Workload revoked',
  'workload.blocked': 'Workload blocked',
  'workload.unblocked': 'Workload unblocked',
  'workload.review_due': 'Workload review due',
  'operator.break_glass_used': 'Break-glass access used',
  'policy.reloaded': 'Policy reloaded',
  'policy.reload_rejected': 'Policy reload rejected',
  'policy.dry_run': 'Policy dry run',
  'detection.fired': 'Detection fired',
  'detection.hold_released': 'Detection hold released',
  'approval.requested': 'Approval requested',
  'approval.granted': 'Approval granted',
  'approval.denied': 'Approval denied',
  'approval.expired': 'Approval expired',
  'approval.used': 'Approval used',
  'issuance.frozen': 'Issuance frozen',
  'issuance.unfrozen': 'Issuance unfrozen',
  'chain.genesis': 'Audit chain started',
  'chain.checkpoint': 'Audit chain checkpoint',
  'revocation.verified': 'Revocation verified at the target',
  'revocation.unverified': 'Revocation not verified at the target',
  'revocation.unverifiable': 'Revocation cannot be verified at the target',
  'ssf.delivery_failed': 'Security event token not delivered',
};

/**
 * The event as ArcSight Common Event Format 0:
 * `CEF:0|jit-broker|jit-broker|1|<type>|<name>|<severity>|<extension>`.
 *
 * Extension: `rt` epoch ms, `act` type, `suser` workload, `suid` subject, `outcome`, `reason`,
 * `externalId` lease id, `destinationServiceName` target, `src` source IP, `cs1` instance,
 * `cs2` actor (the operator who acted), `cs3` event id, `cs4` request id, `cn1` seq, `cnt` the
 * refusals an `auth.failed` summary stands for. Keys of absent fields are left out. The hash
 * chain does not survive the mapping: a SIEM that verifies the chain needs `json` or `ocsf`.
 */
export function cefMessage(event: BrokerEvent): string {
  const header = [
    'CEF:0',
    cefHeader('jit-broker'),
    cefHeader('jit-broker'),
    cefHeader('1'),
    cefHeader(event.type),
    cefHeader(CEF_NAMES[event.type] ?? event.type),
    String(CEF_SEVERITY[event.severity]),
  ].join('|');
  const time = Date.parse(event.time);
  const pairs: [string, string | number | undefined][] = [
    ['rt', Number.isFinite(time) ? time : undefined],
    ['act', event.type],
    ['suser', event.workload],
    ['suid', event.subject],
    ['outcome', event.outcome],
    ['reason', event.reason],
    ['externalId', event.lease_id],
    ['destinationServiceName', event.target],
    ['src', event.source_ip !== undefined && isIP(event.source_ip) ? event.source_ip : undefined],
    ['cs1Label', 'instance'],
    ['cs1', event.instance],
    ['cs2Label', event.actor === undefined ? undefined : 'actor'],
    ['cs2', event.actor],
    ['cs3Label', 'event_id'],
    ['cs3', event.id],
    ['cs4Label', event.request_id === undefined ? undefined : 'request_id'],
    ['cs4', event.request_id],
    ['cn1Label', 'seq'],
    ['cn1', event.seq],
    ['cnt', summaryOf(event)?.count],
  ];
  const extension = pairs
    .filter((pair): pair is [string, string | number] => pair[1] !== undefined)
    .map(([key, value]) => `${key}=${cefValue(String(value))}`)
    .join(' ');
  return `${header}|${extension}`;
}

/**
 * CEF header fields: `\` and `|` escaped. The CEF standard gives a line break no escape here,
 * so it becomes a space; every other control character becomes U+FFFD.
 */
function cefHeader(value: string): string {
  return replaceControlCharacters(value.replace(/[\\|]/g, '\\$&').replace(/\r\n|[\r\n]/g, ' '));
}

/** The only control characters the CEF standard can escape in an extension value. */
const CEF_LINE_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r' };

/**
 * CEF extension values: `\` and `=` escaped, CR and LF written as `\r` and `\n` as the
 * standard defines. It has no escape for any other control character (NUL, ESC, NEL, U+2028…):
 * each becomes U+FFFD, so a collector still sees one record and a console no command.
 */
function cefValue(value: string): string {
  return replaceControlCharacters(
    value.replace(/[\\=]/g, '\\$&'),
    (char) => CEF_LINE_ESCAPES[char] ?? REPLACEMENT_CHARACTER,
  );
}
