import { describe, expect, it } from 'vitest';
import { z } from 'zod';
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

describe('approvalNeeded: a scope beyond the rule ceiling', () => {
  // A stand-in provider over `{ scopes: string[] }`: the gate calls only `ceiling` and `within`.
  const ceiling = z.object({ scopes: z.array(z.string()).min(1) }).strict();
  const provider = {
    ceiling,
    within: (scope: unknown, c: unknown) => {
      const wanted = (scope as { scopes: string[] }).scopes;
      const allowed = (c as { scopes: string[] }).scopes;
      return wanted.every((s) => allowed.includes(s))
        ? ({ ok: true } as const)
        : ({ ok: false, reason: 'beyond' } as const);
    },
  };
  const rule = { required: true, beyond: { scopes: ['tickets:read'] } };

  it('a scope inside beyond passes at once, one beyond it waits', () => {
    const read = { tier: 'write' as const, scope: { scopes: ['tickets:read'] }, provider };
    expect(approvalNeeded(rule, read)).toBe(false);
    const write = { ...read, scope: { scopes: ['tickets:read', 'tickets:comment'] } };
    expect(approvalNeeded(rule, write)).toBe(true);
  });

  it('combines with tools and tiers: any listed condition that matches waits', () => {
    const both = { ...rule, tools: ['push_*'], tiers: ['admin' as const] };
    const inside = { scope: { scopes: ['tickets:read'] }, provider };
    expect(approvalNeeded(both, { tier: 'write', tool: 'read_file', ...inside })).toBe(false);
    expect(approvalNeeded(both, { tier: 'write', tool: 'push_x', ...inside })).toBe(true);
    expect(approvalNeeded(both, { tier: 'admin', tool: 'read_file', ...inside })).toBe(true);
    const outside = { scope: { scopes: ['tickets:comment'] }, provider };
    expect(approvalNeeded(both, { tier: 'write', tool: 'read_file', ...outside })).toBe(true);
  });

  it('fails closed: no provider, no scope, or a ceiling the provider does not read waits', () => {
    const scope = { scopes: ['tickets:read'] };
    expect(approvalNeeded(rule, { tier: 'read', scope })).toBe(true);
    expect(approvalNeeded(rule, { tier: 'read', provider })).toBe(true);
    expect(
      approvalNeeded({ required: true, beyond: { nope: 1 } }, { tier: 'read', scope, provider }),
    ).toBe(true);
    // `required: false` still switches the whole rule off.
    expect(
      approvalNeeded(
        { ...rule, required: false },
        { tier: 'read', scope: { scopes: ['x'] }, provider },
      ),
    ).toBe(false);
  });

  it('is accepted by the schema only with an approval object', () => {
    const base = {
      name: 'p',
      workloads: ['a'],
      target: 't',
      allow: { scopes: ['x'] },
      intents: ['i'],
      default_ttl: '1m',
      max_ttl: '5m',
    };
    expect(policySchema.safeParse({ ...base, approval: rule }).success).toBe(true);
    expect(policySchema.safeParse({ ...base, approval: { beyond: {}, bogus: 1 } }).success).toBe(
      false,
    );
  });
});
