import { summaryOf } from './auth-failures.js';
import type { BrokerEvent, EventType, Severity } from './types.js';

/** OCSF schema version the mapping follows. */
export const OCSF_VERSION = '1.8.0';

type OcsfClass = 'authentication' | 'api_activity';

const CLASSES: Record<
  OcsfClass,
  { uid: number; name: string; category_uid: number; category_name: string }
> = {
  authentication: {
    uid: 3002,
    name: 'Authentication',
    category_uid: 3,
    category_name: 'Identity & Access Management',
  },
  api_activity: {
    uid: 6003,
    name: 'API Activity',
    category_uid: 6,
    category_name: 'Application Activity',
  },
};

// Activity ids: Authentication 1 Logon, 99 Other; API Activity 1 Create, 2 Read,
// 3 Update, 4 Delete, 99 Other.
const ACTIVITIES: Record<EventType, { class: OcsfClass; id: number; name: string }> = {
  'auth.failed': { class: 'authentication', id: 1, name: 'Logon' },
  'operator.break_glass_used': { class: 'authentication', id: 1, name: 'Logon' },
  'credential.issued': { class: 'api_activity', id: 1, name: 'Create' },
  'credential.denied': { class: 'api_activity', id: 1, name: 'Create' },
  'lease.revoked': { class: 'api_activity', id: 4, name: 'Delete' },
  'lease.expired': { class: 'api_activity', id: 4, name: 'Delete' },
  'lease.revoke_failed': { class: 'api_activity', id: 4, name: 'Delete' },
  'lease.renewed': { class: 'api_activity', id: 3, name: 'Update' },
  'task.ended': { class: 'api_activity', id: 99, name: 'Other' },
  'workload.revoking': { class: 'api_activity', id: 4, name: 'Delete' },
  'workload.revoked': { class: 'api_activity', id: 4, name: 'Delete' },
  'workload.blocked': { class: 'api_activity', id: 3, name: 'Update' },
  'workload.unblocked': { class: 'api_activity', id: 3, name: 'Update' },
  'workload.review_due': { class: 'api_activity', id: 99, name: 'Other' },
  'policy.reloaded': { class: 'api_activity', id: 3, name: 'Update' },
  'policy.reload_rejected': { class: 'api_activity', id: 3, name: 'Update' },
  'policy.dry_run': { class: 'api_activity', id: 2, name: 'Read' },
  'detection.fired': { class: 'api_activity', id: 99, name: 'Other' },
  'detection.hold_released': { class: 'api_activity', id: 3, name: 'Update' },
  'approval.requested': { class: 'api_activity', id: 1, name: 'Create' },
  'approval.granted': { class: 'api_activity', id: 3, name: 'Update' },
  'approval.denied': { class: 'api_activity', id: 3, name: 'Update' },
  'approval.expired': { class: 'api_activity', id: 3, name: 'Update' },
  'approval.used': { class: 'api_activity', id: 3, name: 'Update' },
  'issuance.frozen': { class: 'api_activity', id: 3, name: 'Update' },
  'issuance.unfrozen': { class: 'api_activity', id: 3, name: 'Update' },
  'chain.genesis': { class: 'api_activity', id: 99, name: 'Other' },
  'chain.checkpoint': { class: 'api_activity', id: 99, name: 'Other' },
  'revocation.verified': { class: 'api_activity', id: 2, name: 'Read' },
  'revocation.unverified': { class: 'api_activity', id: 2, name: 'Read' },
  'revocation.unverifiable': { class: 'api_activity', id: 2, name: 'Read' },
  'ssf.delivery_failed': { class: 'api_activity', id: 99, name: 'Other' },
};

const SEVERITIES: Record<Severity, { id: number; name: string }> = {
  info: { id: 1, name: 'Informational' },
  low: { id: 2, name: 'Low' },
  medium: { id: 3, name: 'Medium' },
  high: { id: 4, name: 'High' },
  critical: { id: 5, name: 'Critical' },
};

export interface OcsfEvent {
  class_uid: number;
  class_name: string;
  category_uid: number;
  category_name: string;
  activity_id: number;
  activity_name: string;
  type_uid: number;
  type_name: string;
  time: number;
  /** A summary of refusals: how many, between `start_time` and `end_time`. */
  count?: number;
  start_time?: number;
  end_time?: number;
  severity_id: number;
  severity: string;
  status_id: 1 | 2;
  status: 'Success' | 'Failure';
  status_detail?: string;
  message: string;
  metadata: {
    version: string;
    uid: string;
    product: { name: string; vendor_name: string };
    correlation_uid?: string;
  };
  actor?: { user: OcsfUser };
  user?: OcsfUser;
  src_endpoint?: { ip: string };
  api?: { operation: string; request?: { uid: string } };
  resources?: { uid?: string; type: string; name?: string }[];
  service?: { name: string };
  /**
   * Our fields with no OCSF home, the chain fields among them. With the members above that
   * carry an event field as it is (`metadata.uid`, `time`, `severity_id`, `status_detail`,
   * `src_endpoint.ip`, `metadata.correlation_uid`) they hold the whole event, so `fromOcsf`
   * gives back exactly what was hashed and signed.
   */
  unmapped: Record<string, unknown>;
}

interface OcsfUser {
  uid?: string;
  name?: string;
}

/** Maps a broker event onto OCSF 1.8 (Authentication 3002 or API Activity 6003). */
export function toOcsf(event: BrokerEvent): OcsfEvent {
  const activity = ACTIVITIES[event.type];
  const cls = CLASSES[activity.class];
  const severity = SEVERITIES[event.severity];
  const succeeded = event.outcome === 'success';
  const ocsf: OcsfEvent = {
    class_uid: cls.uid,
    class_name: cls.name,
    category_uid: cls.category_uid,
    category_name: cls.category_name,
    activity_id: activity.id,
    activity_name: activity.name,
    type_uid: cls.uid * 100 + activity.id,
    type_name: `${cls.name}: ${activity.name}`,
    time: Date.parse(event.time),
    severity_id: severity.id,
    severity: severity.name,
    status_id: succeeded ? 1 : 2,
    status: succeeded ? 'Success' : 'Failure',
    message: event.reason === undefined ? event.type : `${event.type}: ${event.reason}`,
    metadata: {
      version: OCSF_VERSION,
      uid: event.id,
      product: { name: 'jit-broker', vendor_name: 'jit-broker' },
      ...(event.request_id === undefined ? {} : { correlation_uid: event.request_id }),
    },
    unmapped: compact({
      event_type: event.type,
      outcome: event.outcome,
      // `actor.user.name` is the actor or else the workload: ambiguous on its own.
      actor: event.actor,
      instance: event.instance,
      seq: event.seq,
      prev: event.prev,
      sig: event.sig,
      workload: event.workload,
      subject: event.subject,
      issuer: event.issuer,
      target: event.target,
      provider: event.provider,
      lease_id: event.lease_id,
      task: event.task,
      scope: event.scope,
      policy: event.policy,
      policy_hash: event.policy_hash,
      token_sha256: event.token_sha256,
      expires_at: event.expires_at,
      counts: event.counts,
      detail: event.detail,
    }),
  };
  if (event.reason !== undefined) ocsf.status_detail = event.reason;
  const summary = summaryOf(event);
  if (summary !== undefined) {
    // OCSF's own fields for "this many like it, in this period" (base event `count`).
    ocsf.count = summary.count;
    ocsf.start_time = summary.firstAt;
    ocsf.end_time = summary.lastAt;
  }
  if (event.source_ip !== undefined) ocsf.src_endpoint = { ip: event.source_ip };

  if (activity.class === 'authentication') {
    // The party that tried to authenticate: an operator for break-glass, else the workload.
    ocsf.user = compact({
      uid: event.actor === undefined ? event.subject : undefined,
      name: event.actor ?? event.workload,
    });
    ocsf.service = { name: 'jit-broker' };
    return ocsf;
  }
  ocsf.actor = {
    user: compact({
      uid: event.actor === undefined ? event.subject : undefined,
      name: event.actor ?? event.workload,
    }),
  };
  ocsf.api = {
    operation: event.type,
    ...(event.request_id === undefined ? {} : { request: { uid: event.request_id } }),
  };
  const resources = resourcesOf(event);
  if (resources.length > 0) ocsf.resources = resources;
  return ocsf;
}

function resourcesOf(event: BrokerEvent): { uid?: string; type: string; name?: string }[] {
  const resources: { uid?: string; type: string; name?: string }[] = [];
  if (event.lease_id !== undefined || event.target !== undefined) {
    resources.push({ type: 'lease', ...compact({ uid: event.lease_id, name: event.target }) });
  }
  if (event.type.startsWith('workload.') && event.workload !== undefined) {
    resources.push({ uid: event.workload, type: 'workload', name: event.workload });
  }
  return resources;
}

/** Drops undefined members, which `exactOptionalPropertyTypes` will not let us assign. */
function compact<T extends Record<string, unknown>>(
  value: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) if (member !== undefined) out[key] = member;
  return out as { [K in keyof T]?: Exclude<T[K], undefined> };
}

const SEVERITY_BY_ID = new Map(
  Object.entries(SEVERITIES).map(([severity, { id }]) => [id, severity as Severity]),
);

/** Top-level `unmapped` members that are event fields of the same name. */
const UNMAPPED_FIELDS = [
  'workload',
  'subject',
  'issuer',
  'target',
  'provider',
  'lease_id',
  'task',
  'scope',
  'policy',
  'policy_hash',
  'token_sha256',
  'expires_at',
  'counts',
  'detail',
] as const satisfies readonly (keyof BrokerEvent)[];

/**
 * The broker event an OCSF document was mapped from, for verifying the chain of an OCSF
 * export; `undefined` when the document lacks the chain fields (not one of ours, or cut
 * down by a collector). Members are rebuilt only where `toOcsf` put them, so an event whose
 * OCSF form was altered hashes differently and breaks the chain.
 */
export function fromOcsf(document: unknown): BrokerEvent | undefined {
  if (!isRecord(document) || !isRecord(document.unmapped) || !isRecord(document.metadata)) {
    return undefined;
  }
  const { unmapped, metadata } = document;
  const severity = SEVERITY_BY_ID.get(document.severity_id as number);
  if (
    typeof unmapped.event_type !== 'string' ||
    typeof unmapped.instance !== 'string' ||
    typeof unmapped.seq !== 'number' ||
    typeof unmapped.prev !== 'string' ||
    typeof metadata.uid !== 'string' ||
    typeof document.time !== 'number' ||
    !Number.isFinite(document.time) ||
    severity === undefined
  ) {
    return undefined;
  }
  const event: Record<string, unknown> = {
    id: metadata.uid,
    time: new Date(document.time).toISOString(),
    severity,
    instance: unmapped.instance,
    seq: unmapped.seq,
    prev: unmapped.prev,
    type: unmapped.event_type,
    outcome: unmapped.outcome,
  };
  const user = isRecord(document.user)
    ? document.user
    : isRecord(document.actor) && isRecord(document.actor.user)
      ? document.actor.user
      : undefined;
  const optional: Record<string, unknown> = {
    sig: unmapped.sig,
    reason: document.status_detail,
    source_ip: isRecord(document.src_endpoint) ? document.src_endpoint.ip : undefined,
    request_id: metadata.correlation_uid,
    actor: unmapped.actor ?? legacyActor(user, unmapped.workload),
  };
  for (const field of UNMAPPED_FIELDS) optional[field] = unmapped[field];
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) event[key] = value;
  return event as unknown as BrokerEvent;
}

/**
 * Exports written before `unmapped.actor` existed: the user's name is the actor when it is
 * not the workload and no subject stands beside it. An operator who shares a workload's
 * name is read as no actor, and the chain then fails rather than passes.
 */
function legacyActor(user: Record<string, unknown> | undefined, workload: unknown): unknown {
  if (user === undefined || user.uid !== undefined || user.name === workload) return undefined;
  return user.name;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
