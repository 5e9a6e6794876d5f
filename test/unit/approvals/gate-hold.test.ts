import { describe, expect, it } from 'vitest';
import { approvalGate } from '../../../src/approvals/gate.js';
import { MemoryApprovalStore } from '../../../src/approvals/memory-store.js';
import type { BrokerRuntime } from '../../../src/broker/deps.js';
import type { CredentialRequest } from '../../../src/broker/types.js';
import type { ApprovalsConfig, PolicyConfig } from '../../../src/config/schema.js';
import type { DetectionHolds } from '../../../src/detections/holds.js';
import type { EventInput } from '../../../src/events/types.js';
import type { WorkloadPrincipal } from '../../../src/identity/types.js';
import { createLogger } from '../../../src/lib/logger.js';
import { policyDigest } from '../../../src/policy/hash.js';
import type { PolicyGrant } from '../../../src/policy/types.js';

/** The approval gate under a detection hold store: a store that cannot answer holds. */

const APPROVALS = {
  expires_after: 120_000,
  max_pending: 100,
  max_pending_per_workload: 10,
  webhook_timeout: 2_000,
} as unknown as ApprovalsConfig;

// A policy with no approval rule of its own: only a hold can make its grants wait.
const OPEN = {
  name: 'read-tickets',
  workloads: ['agent-a'],
  target: 'tickets',
  intents: ['triage'],
} as unknown as PolicyConfig;

const runtime = {
  policies: new Map([[OPEN.name, OPEN]]),
  approvals: APPROVALS,
} as unknown as BrokerRuntime;

function deps(detectionHolds: DetectionHolds) {
  const events: EventInput[] = [];
  return {
    approvals: new MemoryApprovalStore(),
    runtime: () => runtime,
    events: {
      emit: async (event: EventInput) => {
        events.push(event);
      },
    },
    logger: createLogger({ level: 'silent' }),
    detectionHolds,
    emitted: events,
  };
}

const principal = {
  kind: 'workload',
  workload: { id: 'agent-a', tier: 'read' },
  identity: { subject: 'spiffe://test/agent-a', issuer: 'test' },
} as unknown as WorkloadPrincipal;

const request = {
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: 't-1', intent: 'triage' },
} as CredentialRequest;

const grant = {
  allow: true,
  policy: OPEN.name,
  policyDigest: policyDigest(OPEN),
  policyHash: 'sha256:set',
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  ttlMs: 300_000,
  maxTtlMs: 900_000,
} as unknown as PolicyGrant;

const holds = (held: DetectionHolds['held']): DetectionHolds => ({
  place: async () => {},
  held,
  clear: async () => false,
});

describe('approval gate and detection holds', () => {
  it('a hold store that cannot answer holds the grant for an approver (fail closed)', async () => {
    const d = deps(
      holds(async () => {
        throw new Error('redis down');
      }),
    );
    const gate = await approvalGate(d, principal, request, grant, 'r1');
    expect(gate.kind).toBe('wait');
    expect(gate.approval?.status).toBe('pending');
    expect(d.emitted.map((e) => e.type)).toContain('approval.requested');
  });

  it('a store that answers "no hold" lets a grant without an approval rule through', async () => {
    const d = deps(holds(async () => undefined));
    const gate = await approvalGate(d, principal, request, grant, 'r1');
    expect(gate).toEqual({ kind: 'open' });
  });
});
