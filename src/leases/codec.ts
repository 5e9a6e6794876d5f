import type { ProviderKind, TaskRef } from '../../providers/provider.js';
import type { Lease, LeaseState, NewLease, RevokeReason } from './types.js';

/**
 * Lease hash field names are short on purpose: at 100,000 leases the names alone were
 * ~90 bytes of every record. The map (also used by the Lua scripts in `scripts.ts`):
 * w workload, s subject, is issuer, t target, p provider, sc scope, tk task, a actor,
 * po policy, ph policy hash, st state, c created, e expires, m max expiry, n attempts,
 * le last error, r revoked at, rr revoke reason, h sealed handle, ct/cu claim token/until,
 * pr revocation requested while minting.
 */

/** Field pairs written at creation (the script adds id, state and the times). */
export function newLeaseFields(input: NewLease): string[] {
  const fields = [
    'w',
    input.workload,
    's',
    input.subject,
    'is',
    input.issuer,
    't',
    input.target,
    'p',
    input.provider,
    'sc',
    JSON.stringify(input.scope),
    'tk',
    JSON.stringify(input.task),
    'po',
    input.policy,
    'ph',
    input.policyHash,
  ];
  if (input.actor !== undefined) fields.push('a', input.actor);
  return fields;
}

/**
 * Every field of a lease record, in the order `HMGET` returns them (the scripts use this
 * list so a reply is values only: half the strings to parse of an HGETALL).
 */
export const LEASE_FIELDS = [
  'id',
  'w',
  's',
  'is',
  't',
  'p',
  'sc',
  'tk',
  'a',
  'st',
  'c',
  'e',
  'm',
  'r',
  'rr',
  'n',
  'le',
  'po',
  'ph',
  'h',
] as const;

/** Parses an `HMGET key …LEASE_FIELDS` reply (missing fields are null) into a Lease. */
export function decodePositional(values: readonly (string | null)[]): Lease {
  const h: Record<string, string> = {};
  LEASE_FIELDS.forEach((field, i) => {
    const value = values[i];
    if (value !== null && value !== undefined) h[field] = value;
  });
  return decodeLease(h);
}

/** Parses an HGETALL reply (flat array or object) into a Lease. */
export function decodeLease(raw: readonly string[] | Record<string, string>): Lease {
  const h: Record<string, string> = Array.isArray(raw)
    ? pairs(raw)
    : (raw as Record<string, string>);
  const lease: Lease = {
    id: h.id ?? '',
    workload: h.w ?? '',
    subject: h.s ?? '',
    issuer: h.is ?? '',
    target: h.t ?? '',
    provider: (h.p ?? 'jwt') as ProviderKind,
    scope: JSON.parse(h.sc ?? 'null') as unknown,
    task: JSON.parse(h.tk ?? '{}') as TaskRef,
    state: (h.st ?? 'pending') as LeaseState,
    createdAt: Number(h.c),
    expiresAt: Number(h.e),
    maxExpiresAt: Number(h.m),
    attempts: Number(h.n ?? 0),
    policy: h.po ?? '',
    policyHash: h.ph ?? '',
  };
  if (h.a !== undefined) lease.actor = h.a;
  if (h.r !== undefined) lease.revokedAt = Number(h.r);
  if (h.rr !== undefined) lease.revokeReason = h.rr as RevokeReason;
  if (h.le !== undefined) lease.lastError = h.le;
  if (h.h !== undefined) lease.handle = h.h;
  return lease;
}

function pairs(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}
