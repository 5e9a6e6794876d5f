import { describe, expect, it } from 'vitest';
import { approvalDigest } from '../../src/approvals/digest.js';
import { approvalNeeded } from '../../src/approvals/rule.js';
import { policySchema } from '../../src/config/schema.js';

describe('approvalNeeded', () => {
  it('required, and a rule that narrows nothing, hold every grant; none and required: false hold none', () => {
    expect(approvalNeeded('required', { tier: 'read' })).toBe(true);
    expect(approvalNeeded({ required: true }, { tier: 'read', tool: 'x' })).toBe(true);
    expect(approvalNeeded(undefined, { tier: 'admin' })).toBe(false);
    expect(approvalNeeded({ required: false, tools: ['*'] }, { tier: 'admin', tool: 'x' })).toBe(
      false,
    );
  });

  it('tools: a matching tool waits, another does not, and naming no tool waits', () => {
    const rule = { required: true, tools: ['push_*', 'delete_branch'] };
    expect(approvalNeeded(rule, { tier: 'write', tool: 'push_commit' })).toBe(true);
    expect(approvalNeeded(rule, { tier: 'write', tool: 'delete_branch' })).toBe(true);
    expect(approvalNeeded(rule, { tier: 'write', tool: 'read_file' })).toBe(false);
    // A glob is anchored and its other characters are literal.
    expect(approvalNeeded(rule, { tier: 'write', tool: 'xpush_commit' })).toBe(false);
    expect(approvalNeeded(rule, { tier: 'write', tool: 'delete.branch' })).toBe(false);
    expect(approvalNeeded(rule, { tier: 'write' })).toBe(true);
  });

  it('tiers: a listed tier waits whatever the tool', () => {
    const rule = { required: true, tiers: ['admin' as const], tools: ['push_*'] };
    expect(approvalNeeded(rule, { tier: 'admin', tool: 'read_file' })).toBe(true);
    expect(approvalNeeded(rule, { tier: 'write', tool: 'read_file' })).toBe(false);
    expect(approvalNeeded({ required: true, tiers: ['admin' as const] }, { tier: 'write' })).toBe(
      false,
    );
  });
});

describe('approvalDigest', () => {
  const base = {
    workload: 'agent-a',
    subject: 'spiffe://test/agent-a',
    issuer: 'test',
    target: 'tickets',
    scope: { scopes: ['tickets:read'] },
    task: { id: 't1', intent: 'escalate', tool: 'close' },
    ttlMs: 300_000,
    policy: 'p',
    policyDigest: 'sha256:aa',
  };

  it('changes with every field it binds, and not with key order', () => {
    const digest = approvalDigest(base);
    const variants = [
      { ...base, workload: 'agent-b' },
      { ...base, subject: 'spiffe://test/other' },
      { ...base, issuer: 'other' },
      { ...base, actor: 'user:alice' },
      { ...base, target: 'other' },
      { ...base, scope: { scopes: ['tickets:comment'] } },
      { ...base, ttlMs: 60_000 },
      { ...base, task: { ...base.task, id: 't2' } },
      { ...base, task: { ...base.task, intent: 'triage' } },
      { ...base, task: { id: 't1', intent: 'escalate' } },
      { ...base, policy: 'q' },
      { ...base, policyDigest: 'sha256:bb' },
    ];
    for (const variant of variants) expect(approvalDigest(variant)).not.toBe(digest);
    const reordered = { ...base, scope: { scopes: ['tickets:read'] } };
    const { policyDigest, ...rest } = reordered;
    expect(approvalDigest({ policyDigest, ...rest })).toBe(digest);
  });
});

describe('policy schema', () => {
  const policy = {
    name: 'p',
    workloads: ['agent-a'],
    target: 'tickets',
    intents: ['x'],
  };

  it('refuses approval and budgets on a deny rule', () => {
    const denied = policySchema.safeParse({
      ...policy,
      effect: 'deny',
      approval: 'required',
      budgets: { requests: { per_workload: 1 } },
    });
    expect(denied.success).toBe(false);
    const paths = denied.error?.issues.map((i) => i.path.join('.')) ?? [];
    expect(paths).toEqual(expect.arrayContaining(['approval', 'budgets']));
  });

  it('refuses an unknown approval key, a window out of range and a zero budget', () => {
    const allow = { ...policy, allow: {}, default_ttl: '1m', max_ttl: '5m' };
    expect(policySchema.safeParse({ ...allow, approval: 'maybe' }).success).toBe(false);
    expect(policySchema.safeParse({ ...allow, approval: { tool: ['x'] } }).success).toBe(false);
    expect(policySchema.safeParse({ ...allow, approval: { expires_after: '1s' } }).success).toBe(
      false,
    );
    expect(
      policySchema.safeParse({ ...allow, budgets: { live_leases: { per_task: 0 } } }).success,
    ).toBe(false);
    expect(
      policySchema.safeParse({ ...allow, budgets: { requests: { per_task: 2, window: '10m' } } })
        .success,
    ).toBe(true);
  });
});
