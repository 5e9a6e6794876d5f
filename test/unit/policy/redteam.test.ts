import { describe, expect, it } from 'vitest';
import { decideApproval } from '../../../src/approvals/decide.js';
import { approvalDigest } from '../../../src/approvals/digest.js';
import { approvalGate } from '../../../src/approvals/gate.js';
import { MemoryApprovalStore } from '../../../src/approvals/memory-store.js';
import { approvalNeeded } from '../../../src/approvals/rule.js';
import type { NewApproval } from '../../../src/approvals/types.js';
import type { BrokerRuntime } from '../../../src/broker/deps.js';
import type { CredentialRequest } from '../../../src/broker/types.js';
import { admitRequest } from '../../../src/budgets/enforce.js';
import { MemoryBudgetStore } from '../../../src/budgets/memory-store.js';
import type { ApprovalsConfig, PolicyConfig } from '../../../src/config/schema.js';
import { BrokerError } from '../../../src/errors.js';
import type { EventInput } from '../../../src/events/types.js';
import type { OperatorPrincipal, WorkloadPrincipal } from '../../../src/identity/types.js';
import { createLogger } from '../../../src/lib/logger.js';
import { policyDigest } from '../../../src/policy/hash.js';
import type { PolicyGrant } from '../../../src/policy/types.js';
import { jwtTarget } from '../../helpers/policy-fixtures.js';

/**
 * Attacks on the rules applied after a policy grants: who may approve, which policy's
 * approval rule and budgets a grant meets, and how an approval rule's tool globs read.
 */

const APPROVALS = {
  expires_after: 120_000,
  max_pending: 100,
  max_pending_per_workload: 10,
  webhook_timeout: 2_000,
} as unknown as ApprovalsConfig;

// Only the fields the approval and budget rules read; the digest covers whatever is here.
const GUARDED = {
  name: 'escalations',
  workloads: ['agent-a'],
  target: 'tickets',
  intents: ['escalate'],
  approval: { required: true },
  budgets: { requests: { per_workload: 1, window: 60_000 } },
} as unknown as PolicyConfig;

const events: EventInput[] = [];
const logger = createLogger({ level: 'silent' });

function runtimeWith(policies: PolicyConfig[]): () => BrokerRuntime {
  const runtime = {
    policies: new Map(policies.map((p) => [p.name, p])),
    approvals: APPROVALS,
  } as unknown as BrokerRuntime;
  return () => runtime;
}

function deps(policies: PolicyConfig[]) {
  return {
    approvals: new MemoryApprovalStore(),
    budgets: new MemoryBudgetStore(),
    runtime: runtimeWith(policies),
    events: {
      emit: async (event: EventInput) => {
        events.push(event);
      },
    },
    logger,
    store: undefined as never,
  };
}

const principal = {
  kind: 'workload',
  workload: { id: 'agent-a', tier: 'write' },
  identity: { subject: 'spiffe://test/agent-a', issuer: 'test' },
} as unknown as WorkloadPrincipal;

const request: CredentialRequest = {
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: 'esc-1', intent: 'escalate', tool: 'close_ticket' },
} as CredentialRequest;

/** A grant the engine made under `config`, before a reload. */
function grantOf(config: PolicyConfig): PolicyGrant {
  return {
    allow: true,
    policy: config.name,
    policyDigest: policyDigest(config),
    policyHash: 'sha256:set',
    target: 'tickets',
    scope: { scopes: ['tickets:read'] },
    ttlMs: 300_000,
    maxTtlMs: 900_000,
  } as unknown as PolicyGrant;
}

function operator(name: string): OperatorPrincipal {
  return {
    kind: 'operator',
    name,
    roles: ['approver'],
    via: 'jwt',
    expiresAt: Date.now() + 60_000,
    tokenHash: 'x',
  } as OperatorPrincipal;
}

describe('approvals: who decides', () => {
  it('the human a request is made on behalf of (its actor) cannot approve it', async () => {
    const d = deps([GUARDED]);
    const asked: Omit<NewApproval, 'digest'> = {
      workload: 'agent-a',
      subject: 'spiffe://test/agent-a',
      issuer: 'test',
      target: 'tickets',
      scope: { scopes: ['tickets:read'] },
      task: { id: 'esc-1', intent: 'escalate', tool: 'close_ticket' },
      ttlMs: 300_000,
      actor: 'alice@example.com',
      policy: GUARDED.name,
      policyDigest: policyDigest(GUARDED),
    };
    const opened = await d.approvals.collectOrOpen(
      { ...asked, digest: approvalDigest(asked) },
      60_000,
      { maxPending: 10, maxPendingPerWorkload: 10 },
    );
    if (opened.outcome !== 'created') throw new Error(`expected a new approval: ${opened.outcome}`);
    const id = opened.approval.id;

    const self = decideApproval(d, id, 'approved', 'lgtm', operator('alice@example.com'), {
      requestId: 'r1',
      actor: 'alice@example.com',
    });
    await expect(self).rejects.toMatchObject({ code: 'approval_self' });
    expect((await d.approvals.get(id))?.status).toBe('pending');

    // Someone else still can.
    const other = await decideApproval(d, id, 'approved', 'ok', operator('bob@example.com'), {
      requestId: 'r2',
      actor: 'bob@example.com',
    });
    expect(other.status).toBe('approved');
  });
});

describe('a grant meets the rules of the policy that decided it, not of a reload', () => {
  it('the approval gate does not open when the deciding policy went in a reload mid-request', async () => {
    // Decided under GUARDED (approval required); the runtime in force no longer holds it.
    const d = deps([]);
    const gate = approvalGate(d, principal, request, grantOf(GUARDED), 'r1');
    await expect(gate).rejects.toBeInstanceOf(BrokerError);
    await expect(gate).rejects.toMatchObject({ code: 'policy_denied' });
  });

  it('the approval gate does not open when the deciding policy changed mid-request', async () => {
    const loosened = { ...GUARDED, approval: undefined } as unknown as PolicyConfig;
    const d = deps([loosened]);
    const gate = approvalGate(d, principal, request, grantOf(GUARDED), 'r1');
    await expect(gate).rejects.toMatchObject({ code: 'policy_denied' });
  });

  it('budgets are not skipped when the deciding policy went in a reload mid-request', async () => {
    const d = deps([]);
    await expect(admitRequest(d, grantOf(GUARDED), 'agent-a', 'esc-1')).rejects.toMatchObject({
      code: 'policy_denied',
    });
  });

  it('an unchanged policy (a reload that left it as it was) still counts and gates', async () => {
    const d = deps([{ ...GUARDED } as PolicyConfig]);
    await admitRequest(d, grantOf(GUARDED), 'agent-a', 'esc-1');
    await expect(admitRequest(d, grantOf(GUARDED), 'agent-a', 'esc-2')).rejects.toMatchObject({
      code: 'budget_exceeded',
    });
    const gate = await approvalGate(d, principal, request, grantOf(GUARDED), 'r1');
    expect(gate.kind).toBe('wait');
  });
});

describe('approval rule tool globs read like the policy tool globs', () => {
  it('`?` matches one character, as in `tools` and `tool_ceilings`', () => {
    // The policy grants `delete_?ranch`; its approval rule names the same glob.
    const rule = { required: true, tools: ['delete_?ranch'] };
    expect(approvalNeeded(rule, { tier: 'write', tool: 'delete_branch' })).toBe(true);
    expect(approvalNeeded(rule, { tier: 'write', tool: 'delete_?ranch' })).toBe(true);
    expect(approvalNeeded(rule, { tier: 'write', tool: 'delete_bbranch' })).toBe(false);
  });
});

describe('an approval binds who the workload acts for', () => {
  const guarded = { ...GUARDED, budgets: undefined } as unknown as PolicyConfig;

  async function approvedFor(
    d: ReturnType<typeof deps>,
    req: CredentialRequest,
    grant: PolicyGrant,
  ) {
    const opened = await approvalGate(d, principal, req, grant, 'r1');
    if (opened.kind !== 'wait') throw new Error('expected the request to wait');
    const decided = await d.approvals.decide(opened.approval.id, 'approved', 'bob', 'ok', 60_000);
    expect(decided.outcome).toBe('decided');
  }

  it('an approval for an actor from one issuer is not collected with the same subject from another', async () => {
    const d = deps([guarded]);
    const grant = grantOf(guarded);
    const asAlice = (issuer: string): CredentialRequest => ({
      ...request,
      actor: { subject: 'alice', issuer, claims: {} },
    });
    await approvedFor(d, asAlice('https://idp-a.example'), grant);
    const other = await approvalGate(d, principal, asAlice('https://idp-b.example'), grant, 'r2');
    expect(other.kind).toBe('wait');
    // The approved request itself still collects it, once.
    const same = await approvalGate(d, principal, asAlice('https://idp-a.example'), grant, 'r3');
    expect(same.kind).toBe('open');
  });

  it('an approval for one actor user is not collected for another user of the same actor', async () => {
    const d = deps([guarded]);
    const req: CredentialRequest = {
      ...request,
      actor: { subject: 'orchestrator', issuer: 'https://idp-a.example', claims: {} },
    };
    await approvedFor(d, req, { ...grantOf(guarded), actorUser: 'alice' });
    const other = await approvalGate(
      d,
      principal,
      req,
      { ...grantOf(guarded), actorUser: 'mallory' },
      'r2',
    );
    expect(other.kind).toBe('wait');
    const same = await approvalGate(
      d,
      principal,
      req,
      { ...grantOf(guarded), actorUser: 'alice' },
      'r3',
    );
    expect(same.kind).toBe('open');
  });
});

describe('an approval rule keyed on scope cannot be stepped around', () => {
  const SCOPED = {
    ...GUARDED,
    name: 'scoped',
    approval: { beyond: { scopes: ['tickets:read'] } },
    budgets: undefined,
  } as unknown as PolicyConfig;
  const provider = jwtTarget('tickets');
  const grantFor = (scopes: string[]): PolicyGrant =>
    ({
      ...grantOf(SCOPED),
      provider,
      scope: provider.scope.parse({ scopes }),
    }) as PolicyGrant;

  it('the provider compares: a wildcard, another case or an extra scope beyond the ceiling waits', async () => {
    for (const scopes of [['tickets:*'], ['TICKETS:read'], ['tickets:read', 'tickets:close']]) {
      const d = deps([SCOPED]);
      const gate = await approvalGate(d, principal, request, grantFor(scopes), 'r');
      expect(gate.kind, scopes.join(' ')).toBe('wait');
    }
    const inside = await approvalGate(
      deps([SCOPED]),
      principal,
      request,
      grantFor(['tickets:read', 'tickets:read']),
      'r',
    );
    expect(inside.kind).toBe('open');
  });

  it('naming an unrelated tool, or none, does not skip it', async () => {
    const d = deps([SCOPED]);
    const { tool: _tool, ...untooled } = request.task;
    const bare = { ...request, task: untooled } as CredentialRequest;
    const other = { ...request, task: { ...request.task, tool: 'read_ticket' } };
    for (const req of [bare, other]) {
      const gate = await approvalGate(d, principal, req, grantFor(['tickets:close']), 'r');
      expect(gate.kind).toBe('wait');
    }
  });
});
