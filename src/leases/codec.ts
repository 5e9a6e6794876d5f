import type { ProviderKind, TaskRef } from '../../providers/provider.js';
import type { Lease, LeaseState, NewLease, RevokeReason } from './types.js';

/** Field pairs written at creation (the script adds id, state and the times). */
export function newLeaseFields(input: NewLease): string[] {
  const fields = [
    'workload',
    input.workload,
    'subject',
    input.subject,
    'issuer',
    input.issuer,
    'target',
    input.target,
    'provider',
    input.provider,
    'scope',
    JSON.stringify(input.scope),
    'task',
    JSON.stringify(input.task),
    'policy',
    input.policy,
    'policy_hash',
    input.policyHash,
  ];
  if (input.actor !== undefined) fields.push('actor', input.actor);
  return fields;
}

/** Parses an HGETALL reply (flat array or object) into a Lease. */
export function decodeLease(raw: readonly string[] | Record<string, string>): Lease {
  const h: Record<string, string> = Array.isArray(raw)
    ? pairs(raw)
    : (raw as Record<string, string>);
  const lease: Lease = {
    id: h.id ?? '',
    workload: h.workload ?? '',
    subject: h.subject ?? '',
    issuer: h.issuer ?? '',
    target: h.target ?? '',
    provider: (h.provider ?? 'jwt') as ProviderKind,
    scope: JSON.parse(h.scope ?? 'null') as unknown,
    task: JSON.parse(h.task ?? '{}') as TaskRef,
    state: (h.state ?? 'pending') as LeaseState,
    createdAt: Number(h.created_at),
    expiresAt: Number(h.expires_at),
    maxExpiresAt: Number(h.max_expires_at),
    attempts: Number(h.attempts ?? 0),
    policy: h.policy ?? '',
    policyHash: h.policy_hash ?? '',
  };
  if (h.actor !== undefined) lease.actor = h.actor;
  if (h.revoked_at !== undefined) lease.revokedAt = Number(h.revoked_at);
  if (h.revoke_reason !== undefined) lease.revokeReason = h.revoke_reason as RevokeReason;
  if (h.last_error !== undefined) lease.lastError = h.last_error;
  if (h.handle !== undefined) lease.handle = h.handle;
  return lease;
}

function pairs(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}
