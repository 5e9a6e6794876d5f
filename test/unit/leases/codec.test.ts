import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodeLease,
  decodePositional,
  LEASE_FIELDS,
  newLeaseFields,
  packPolicyHash,
  unpackPolicyHash,
} from '../../../src/leases/codec.js';
import type { NewLease } from '../../../src/leases/types.js';
import { newLeaseId } from '../../../src/lib/ids.js';

const HASH = `sha256:${createHash('sha256').update('policies').digest('hex')}`;

const input: NewLease = {
  workload: 'agent-a',
  subject: 'system:serviceaccount:agents:a',
  issuer: 'k8s',
  target: 'tickets',
  provider: 'jwt',
  scope: { scopes: ['tickets:read'] },
  task: { id: 't-1', intent: 'triage', tool: 'search' },
  actor: 'user:alice',
  policy: 'agents-read',
  policyHash: HASH,
  ttlMs: 60_000,
  maxTtlMs: 600_000,
  maxLive: 10,
};

describe('lease record codec', () => {
  it('stores the policy hash as 43 base64url characters and reads back the same string', () => {
    const packed = packPolicyHash(HASH);
    expect(packed).toHaveLength(43);
    expect(unpackPolicyHash(packed)).toBe(HASH);
    // Anything that is not a sha256 digest is kept as it is, both ways.
    for (const other of ['', 'sha256:short', 'md5:abc']) {
      expect(unpackPolicyHash(packPolicyHash(other))).toBe(other);
    }
  });

  it('round-trips a record, with the id taken from the key (it is not stored)', () => {
    const id = newLeaseId(input.workload);
    const fields = newLeaseFields(input);
    expect(fields).not.toContain(id);
    expect(fields).not.toContain('id');
    const stored = [...fields, 'st', 'active', 'c', '1000', 'e', '61000', 'm', '601000', 'n', '0'];
    const lease = decodeLease(id, stored);
    expect(lease).toMatchObject({
      id,
      workload: 'agent-a',
      subject: input.subject,
      scope: input.scope,
      task: input.task,
      actor: 'user:alice',
      policyHash: HASH,
      state: 'active',
      expiresAt: 61_000,
    });
    const byName = new Map<string, string>();
    for (let i = 0; i < stored.length; i += 2)
      byName.set(stored[i] as string, stored[i + 1] as string);
    expect(
      decodePositional(
        id,
        LEASE_FIELDS.map((f) => byName.get(f) ?? null),
      ),
    ).toEqual(lease);
  });
});
