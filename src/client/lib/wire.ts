import { JitBrokerError } from '../errors.js';
import type {
  Introspection,
  Lease,
  LeaseInfo,
  LeaseState,
  Revocation,
  TaskRef,
  TaskRevocation,
} from '../types.js';
import type { Answer } from './transport.js';

/**
 * Readers for the broker's JSON answers. A missing or mistyped field is an
 * `invalid_response` that names the field and never quotes a value: a malformed answer
 * to `POST /v1/credentials` still carries a credential.
 */
type Fields = Record<string, unknown>;

function invalid(answer: Answer, what: string): JitBrokerError {
  return new JitBrokerError({
    status: answer.status,
    code: 'invalid_response',
    detail: `the broker's answer has no valid ${what}`,
    requestId: answer.requestId,
  });
}

function object(answer: Answer): Fields {
  const body = answer.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid(answer, 'body');
  return body as Fields;
}

function string(answer: Answer, o: Fields, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw invalid(answer, key);
  return v;
}

function optionalString(answer: Answer, o: Fields, key: string): string | undefined {
  return o[key] === undefined ? undefined : string(answer, o, key);
}

function number(answer: Answer, o: Fields, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(answer, key);
  return v;
}

function date(answer: Answer, o: Fields, key: string): Date {
  const d = new Date(string(answer, o, key));
  if (Number.isNaN(d.getTime())) throw invalid(answer, key);
  return d;
}

function task(answer: Answer, o: Fields): TaskRef {
  const t = o.task;
  if (typeof t !== 'object' || t === null) throw invalid(answer, 'task');
  const fields = t as Fields;
  const tool = optionalString(answer, fields, 'tool');
  return {
    id: string(answer, fields, 'id'),
    intent: string(answer, fields, 'intent'),
    ...(tool === undefined ? {} : { tool }),
  };
}

const STATES: ReadonlySet<string> = new Set<LeaseState>([
  'pending',
  'active',
  'revoking',
  'revoked',
  'expired',
  'revoke_failed',
]);

function state(answer: Answer, o: Fields): LeaseState {
  const s = string(answer, o, 'state');
  if (!STATES.has(s)) throw invalid(answer, 'state');
  return s as LeaseState;
}

export function readLease<C>(answer: Answer): Lease<C> {
  const o = object(answer);
  if (!('credential' in o)) throw invalid(answer, 'credential');
  return {
    leaseId: string(answer, o, 'lease_id'),
    target: string(answer, o, 'target'),
    provider: string(answer, o, 'provider'),
    workload: string(answer, o, 'workload'),
    scope: o.scope,
    task: task(answer, o),
    issuedAt: date(answer, o, 'issued_at'),
    expiresAt: date(answer, o, 'expires_at'),
    credential: o.credential as C,
  };
}

export function readLeaseInfo(answer: Answer): LeaseInfo {
  const o = object(answer);
  const actor = optionalString(answer, o, 'actor');
  const revokedAt = o.revoked_at === undefined ? undefined : date(answer, o, 'revoked_at');
  const revokeReason = optionalString(answer, o, 'revoke_reason');
  const lastError = optionalString(answer, o, 'last_error');
  return {
    leaseId: string(answer, o, 'lease_id'),
    workload: string(answer, o, 'workload'),
    subject: string(answer, o, 'subject'),
    issuer: string(answer, o, 'issuer'),
    target: string(answer, o, 'target'),
    provider: string(answer, o, 'provider'),
    scope: o.scope,
    task: task(answer, o),
    ...(actor === undefined ? {} : { actor }),
    state: state(answer, o),
    createdAt: date(answer, o, 'created_at'),
    expiresAt: date(answer, o, 'expires_at'),
    maxExpiresAt: date(answer, o, 'max_expires_at'),
    ...(revokedAt === undefined ? {} : { revokedAt }),
    ...(revokeReason === undefined ? {} : { revokeReason }),
    attempts: number(answer, o, 'attempts'),
    ...(lastError === undefined ? {} : { lastError }),
    policy: string(answer, o, 'policy'),
    policyHash: string(answer, o, 'policy_hash'),
  };
}

export function readRevocation(answer: Answer): Revocation {
  const o = object(answer);
  return {
    leaseId: string(answer, o, 'lease_id'),
    state: state(answer, o),
    pending: answer.status === 202,
  };
}

export function readTaskRevocation(answer: Answer): TaskRevocation {
  const o = object(answer);
  return {
    task: string(answer, o, 'task'),
    workload: string(answer, o, 'workload'),
    revoked: number(answer, o, 'revoked'),
    revoking: number(answer, o, 'revoking'),
    failed: number(answer, o, 'failed'),
  };
}

export function readIntrospection(answer: Answer): Introspection {
  const o = object(answer);
  if (typeof o.active !== 'boolean') throw invalid(answer, 'active');
  return { ...o, active: o.active };
}
