import type { BrokerEvent } from '../events/types.js';
import type { SsfEventKind } from './config.js';

/** CAEP 1.0 event type URIs. */
export const CAEP_EVENT_URIS: Record<SsfEventKind, string> = {
  'session-revoked': 'https://schemas.openid.net/secevent/caep/event-type/session-revoked',
  'credential-change': 'https://schemas.openid.net/secevent/caep/event-type/credential-change',
};

/**
 * The `credential_type` of a lease in `credential-change`: none of CAEP's listed types is a
 * broker lease, and CAEP lets transmitter and receiver agree on another value.
 */
export const LEASE_CREDENTIAL_TYPE = 'jit-lease';

/** RFC 9493 opaque identifier. */
interface OpaqueId {
  readonly format: 'opaque';
  readonly id: string;
}

/**
 * The SET's `sub_id`: an SSF complex subject whose `application` is the workload and, for a
 * lease or a task, whose `session` is the lease id (`lse_…`) or the task id.
 */
export interface SubjectId {
  readonly format: 'complex';
  readonly application: OpaqueId;
  readonly session?: OpaqueId;
}

/**
 * What the broker tells receivers about one event, before it is addressed and signed. `jit`
 * is the broker's own claim: the ids a receiver matches its cached tokens against (a token's
 * `sub` is the workload, its `jti` the lease, its `task.id` the task).
 */
export interface Signal {
  readonly kind: SsfEventKind;
  readonly workload: string;
  /** The event id: the SET's `txn`, shared by every SET the event caused. */
  readonly txn: string;
  readonly subject: SubjectId;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly jit: {
    readonly workload: string;
    readonly lease_id?: string;
    readonly task_id?: string;
  };
}

/**
 * Events that tell the holders something; every other type is ignored. A kill switch speaks
 * at its start (`workload.revoking`, once the store refuses the workload's tokens), not at its
 * end (`workload.revoked`, `workload.blocked`), which waits on the providers.
 */
export const SIGNALLING_EVENTS: ReadonlySet<string> = new Set([
  'workload.revoking',
  'lease.revoked',
  'task.ended',
]);

/**
 * Lease revocations that send nothing of their own. One revoked by the kill switch or by its
 * task's end is covered by that workload's or task's SET: one SET per workload rather than
 * one per lease keeps a kill switch of thousands of leases from flooding the queue. One that
 * expired, or whose credential never reached the caller, has no holder to tell.
 */
const SILENT_LEASE_REASONS: ReadonlySet<string> = new Set([
  'workload_revoked',
  'task_ended',
  'expired',
  'activation_failed',
  'pending_timeout',
  'audit_unavailable',
]);

const opaque = (id: string): OpaqueId => ({ format: 'opaque', id });

/** The signals one broker event gives rise to (none for most events). */
export function signalsOf(event: BrokerEvent): Signal[] {
  if (!SIGNALLING_EVENTS.has(event.type) || event.workload === undefined) return [];
  const workload = event.workload;
  const common = {
    event_timestamp: Math.floor(Date.parse(event.time) / 1000),
    // CAEP: `admin` when an operator acted, `policy` for the broker's own rules.
    initiating_entity: event.actor === undefined ? 'policy' : 'admin',
    ...(event.reason === undefined ? {} : { reason_admin: { en: reasonText(event) } }),
  };
  const application = opaque(workload);
  switch (event.type) {
    case 'workload.revoking':
      return [
        {
          kind: 'session-revoked',
          workload,
          txn: event.id,
          subject: { format: 'complex', application },
          payload: common,
          jit: { workload },
        },
      ];
    case 'task.ended': {
      const task = event.task?.id;
      if (task === undefined) return [];
      return [
        {
          kind: 'session-revoked',
          workload,
          txn: event.id,
          subject: { format: 'complex', application, session: opaque(task) },
          payload: common,
          jit: { workload, task_id: task },
        },
      ];
    }
    case 'lease.revoked': {
      const lease = event.lease_id;
      if (lease === undefined || SILENT_LEASE_REASONS.has(event.reason ?? '')) return [];
      const subject: SubjectId = { format: 'complex', application, session: opaque(lease) };
      const jit = {
        workload,
        lease_id: lease,
        ...(event.task === undefined ? {} : { task_id: event.task.id }),
      };
      return [
        { kind: 'session-revoked', workload, txn: event.id, subject, payload: common, jit },
        {
          kind: 'credential-change',
          workload,
          txn: event.id,
          subject,
          payload: { ...common, change_type: 'revoke', credential_type: LEASE_CREDENTIAL_TYPE },
          jit,
        },
      ];
    }
    default:
      return [];
  }
}

function reasonText(event: BrokerEvent): string {
  const reason = event.reason ?? '';
  return event.detail?.block === true ? `workload blocked: ${reason}` : reason;
}
