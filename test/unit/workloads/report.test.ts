import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Provider } from '../../../providers/provider.js';
import { MemoryLeaseStore } from '../../../src/leases/memory-store.js';
import type { ReportDeps } from '../../../src/workloads/report.js';
import { workloadReport } from '../../../src/workloads/report.js';

const DAY = 86_400_000;

function setup(providers: Record<string, Partial<Provider>>) {
  let now = Date.parse('2027-03-01T00:00:00Z');
  const store = new MemoryLeaseStore(
    {
      retentionMs: 30 * DAY,
      pendingTimeoutMs: 60_000,
      claimTimeoutMs: 60_000,
      maxAttempts: 3,
      failedRetryMs: 60_000,
    },
    () => now,
  );
  const policy = (name: string, target: string, allow: unknown) => ({
    name,
    effect: 'allow' as const,
    mode: 'enforce' as const,
    config: { target, allow, intents: ['triage'], default_ttl: 60_000, max_ttl: 120_000 },
  });
  const deps = {
    store,
    leaseRetentionMs: 30 * DAY,
    runtime: () => ({
      workloads: new Map([['bot', { id: 'bot', tier: 'read', review_by: '2027-03-15' }]]),
      policy: {
        policiesFor: () => [
          policy('p-one', 'one', { scopes: ['a', 'b'] }),
          policy('p-two', 'two', { scopes: ['x'] }),
        ],
      },
      providers: new Map(Object.entries(providers)),
      reviewWarningMs: 7 * DAY,
    }),
  } as unknown as ReportDeps;
  const lease = (target: string, scopes: string[]) =>
    store.create({
      workload: 'bot',
      subject: 's',
      issuer: 'i',
      target,
      provider: 'jwt',
      scope: { scopes },
      task: { id: 't', intent: 'triage' },
      policy: target === 'one' ? 'p-one' : 'p-two',
      policyHash: 'h',
      ttlMs: 60_000,
      maxTtlMs: 60_000,
      maxLive: 100,
    });
  return { deps, lease, advance: (ms: number) => (now += ms) };
}

const ceiling = z.object({ scopes: z.array(z.string()) });
/** A provider that reads its scopes and ceilings as lists of strings. */
const readable: Partial<Provider> = {
  ceiling,
  scope: ceiling,
  within: (scope, c) =>
    ({
      ok: (scope as { scopes: string[] }).scopes.every((x) =>
        (c as { scopes: string[] }).scopes.includes(x),
      ),
    }) as { ok: true },
};

describe('workloadReport', () => {
  it('counts only leases within the window, and marks a read cut at its bound', async () => {
    const { deps, lease, advance } = setup({});
    await lease('one', ['a']);
    advance(10 * DAY);
    await lease('two', ['x']);
    await lease('two', ['x']);
    const r = await workloadReport(deps, 'bot', 7 * DAY);
    expect(r.used.leases).toBe(2);
    expect(r.used.leases_read).toBe(3);
    expect(r.used.truncated).toBe(false);
    // The lease 10 days old is outside a 7-day window: target one counts as unused.
    expect(r.unused.targets).toEqual(['one']);
    expect(r.review.state).toBe('due');
    // Without an event stream, denials are unknown, said so.
    expect(r.denied).toMatchObject({ known: false });

    const cut = await workloadReport(deps, 'bot', 30 * DAY, 2);
    expect(cut.used.leases_read).toBe(2);
    expect(cut.used.truncated).toBe(true);
  });

  it('says when the provider makes no suggestion and when the ceiling is already what was used', async () => {
    const { deps, lease } = setup({
      one: { ...readable, suggestCeiling: (used) => ({ scopes: ['a'], n: used.length }) },
      two: { ...readable, suggestCeiling: () => ({ scopes: ['x'] }) },
    });
    await lease('one', ['a']);
    await lease('two', ['x']);
    const r = await workloadReport(deps, 'bot', 7 * DAY);
    expect(r.suggestions.map((s) => [s.policy, s.status])).toEqual([
      ['p-one', 'suggested'],
      ['p-two', 'already_tight'],
    ]);

    const bare = setup({ one: { ceiling } });
    await bare.lease('one', ['a']);
    const none = await workloadReport(bare.deps, 'bot', 7 * DAY);
    expect(none.suggestions).toEqual([
      expect.objectContaining({ policy: 'p-one', status: 'no_suggestion' }),
    ]);
  });

  it('suggests no ceiling and claims no grant unused when the leases were not all read', async () => {
    const { deps, lease } = setup({
      one: {
        ...readable,
        suggestCeiling: (used) => ({
          scopes: [...new Set(used.flatMap((s) => (s as { scopes: string[] }).scopes))].sort(),
        }),
      },
    });
    await lease('one', ['a']);
    await lease('one', ['b']);
    // Every lease read: both scopes are in use, the ceiling is already what was used.
    const all = await workloadReport(deps, 'bot', 7 * DAY);
    expect(all.suggestions.map((s) => s.status)).toEqual(['already_tight']);
    expect(all.unused.policies.map((p) => p.policy)).toEqual(['p-two']);
    // One lease of two read: a ceiling built from it would drop a scope still in use.
    const cut = await workloadReport(deps, 'bot', 7 * DAY, 1);
    expect(cut.used.truncated).toBe(true);
    expect(cut.suggestions.some((s) => s.status === 'suggested')).toBe(false);
    expect(cut.suggestions).toEqual([
      { policy: 'p-one', target: 'one', status: 'no_suggestion', reason: 'leases not all read' },
    ]);
    expect(cut.unused).toEqual({ policies: [], targets: [] });
  });

  it('refuses a window outside 1h..365d and a workload nobody knows', async () => {
    const { deps } = setup({});
    await expect(workloadReport(deps, 'bot', 59 * 60_000)).rejects.toMatchObject({
      code: 'invalid_request',
    });
    await expect(workloadReport(deps, 'bot', 366 * DAY)).rejects.toMatchObject({
      code: 'invalid_request',
    });
    await expect(workloadReport(deps, 'ghost', DAY)).rejects.toMatchObject({ code: 'not_found' });
  });
});
