import type { ProviderKind, TaskRef } from '../../providers/provider.js';
import type { Lease, LeaseState, NewLease, RevokeReason } from './types.js';

/**
 * Lease hash field names are short on purpose: at 100,000 leases the names alone were
 * ~90 bytes of every record, and the id is not stored at all (the key names it). The map (also used by the Lua scripts in `scripts.ts`):
 * w workload, s subject, is issuer, t target, p provider, sc scope, tk task, a actor,
 * po policy, ph policy hash, st state, c created, e expires, m max expiry, n attempts,
 * le last error, r revoked at, rr revoke reason, h sealed handle, ct/cu claim token/until,
 * pr revocation requested while minting.
 */

/** Field pairs written at creation (the script adds the state and the times). */
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
    packPolicyHash(input.policyHash),
  ];
  if (input.actor !== undefined) fields.push('a', input.actor);
  return fields;
}

/**
 * Every field of a lease record, in the order `HMGET` returns them (the scripts use this
 * list so a reply is values only: half the strings to parse of an HGETALL).
 */
export const LEASE_FIELDS = [
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
export function decodePositional(id: string, values: readonly (string | null)[]): Lease {
  const h: Record<string, string> = {};
  LEASE_FIELDS.forEach((field, i) => {
    const value = values[i];
    if (value !== null && value !== undefined) h[field] = value;
  });
  return decodeLease(id, h);
}

/** Parses the HGETALL reply (flat array or object) of lease `id` into a Lease. */
export function decodeLease(id: string, raw: readonly string[] | Record<string, string>): Lease {
  const h: Record<string, string> = Array.isArray(raw)
    ? pairs(raw)
    : (raw as Record<string, string>);
  const lease: Lease = {
    id,
    workload: h.w ?? '',
    subject: h.s ?? '',
    issuer: h.is ?? '',
    target: h.t ?? '',
    // Written at creation with every lease; stored as the kind's own name.
    provider: (h.p ?? '') as ProviderKind,
    scope: JSON.parse(h.sc ?? 'null') as unknown,
    task: JSON.parse(h.tk ?? '{}') as TaskRef,
    state: (h.st ?? 'pending') as LeaseState,
    createdAt: Number(h.c),
    expiresAt: Number(h.e),
    maxExpiresAt: Number(h.m),
    attempts: Number(h.n ?? 0),
    policy: h.po ?? '',
    policyHash: unpackPolicyHash(h.ph ?? ''),
  };
  if (h.a !== undefined) lease.actor = h.a;
  if (h.r !== undefined) lease.revokedAt = Number(h.r);
  if (h.rr !== undefined) lease.revokeReason = h.rr as RevokeReason;
  if (h.le !== undefined) lease.lastError = h.le;
  if (h.h !== undefined) lease.handle = h.h;
  return lease;
}

const SHA256_HEX = /^sha256:([0-9a-f]{64})$/;
const PACKED = /^[A-Za-z0-9_-]{43}$/;

/** `sha256:<64 hex>` is kept as its 32 bytes in base64url (43 characters instead of 71). */
export function packPolicyHash(hash: string): string {
  const hex = SHA256_HEX.exec(hash)?.[1];
  return hex === undefined ? hash : Buffer.from(hex, 'hex').toString('base64url');
}

export function unpackPolicyHash(stored: string): string {
  return PACKED.test(stored)
    ? `sha256:${Buffer.from(stored, 'base64url').toString('hex')}`
    : stored;
}

function pairs(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}
