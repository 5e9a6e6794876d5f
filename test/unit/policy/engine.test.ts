import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import type { Provider } from '../../../providers/provider.js';
import { type PolicyConfig, policySchema } from '../../../src/config/schema.js';
import {
  type Decision,
  PolicyConfigError,
  PolicyEngine,
  type PolicyRequest,
} from '../../../src/policy/engine.js';
import { jwtTarget } from '../../helpers/policy-fixtures.js';

const PROVIDERS: ReadonlyMap<string, Provider> = new Map([
  ['orders-api', jwtTarget('orders-api')],
  ['billing-api', jwtTarget('billing-api')],
]);

function policy(overrides: Record<string, unknown> = {}): PolicyConfig {
  return policySchema.parse({
    name: 'orders-read',
    workloads: ['orders-mcp'],
    target: 'orders-api',
    allow: { scopes: ['orders:*'] },
    intents: ['refund', 'triage'],
    default_ttl: '5m',
    max_ttl: '15m',
    ...overrides,
  });
}

const NOW = Date.parse('2030-01-15T10:00:00Z');

function request(overrides: Partial<PolicyRequest> = {}): PolicyRequest {
  return {
    workload: { id: 'orders-mcp', tier: 'write' },
    claims: { sub: 'system:serviceaccount:mcp:orders', ns: 'mcp', level: 3 },
    target: 'orders-api',
    scope: { scopes: ['orders:read'] },
    task: { id: 'task-1', intent: 'refund' },
    request: { ip: '10.0.0.7', time: NOW },
    ...overrides,
  };
}

function engine(...policies: PolicyConfig[]): PolicyEngine {
  return new PolicyEngine(policies, PROVIDERS);
}

function denied(decision: Decision) {
  if (decision.allow) throw new Error(`expected a denial, got a grant by ${decision.policy}`);
  return decision;
}

function granted(decision: Decision) {
  if (!decision.allow) throw new Error(`expected a grant, got ${JSON.stringify(decision.reasons)}`);
  return decision;
}

describe('PolicyEngine: matching', () => {
  it('denies by default when there are no policies', () => {
    const decision = denied(engine().decide(request()));
    expect(decision.code).toBe('policy_denied');
    expect(decision.reasons.map((r) => r.code)).toEqual(['no_matching_policy']);
  });

  it('grants the scope exactly as requested, not the ceiling', () => {
    const e = engine(policy());
    const decision = granted(e.decide(request({ scope: { scopes: ['orders:read'] } })));
    expect(decision).toEqual({
      allow: true,
      policy: 'orders-read',
      policyDigest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      policyHash: e.hash,
      target: 'orders-api',
      provider: PROVIDERS.get('orders-api'),
      scope: { scopes: ['orders:read'] },
      mint: expect.any(Function),
      ttlMs: 300_000,
      maxTtlMs: 900_000,
    });
  });

  it('mints exactly the granted scope at the deciding target', async () => {
    const decision = granted(
      engine(policy()).decide(request({ scope: { scopes: ['orders:read', 'orders:list'] } })),
    );
    const now = Date.now();
    const minted = await decision.mint({
      leaseId: 'lse_test',
      workload: 'orders-mcp',
      subject: 'system:serviceaccount:mcp:orders',
      task: { id: 'task-1', intent: 'refund' },
      issuedAt: now,
      expiresAt: now + 60_000,
    });
    const claims = decodeJwt((minted.credential as { token: string }).token);
    expect(claims).toMatchObject({
      aud: 'https://orders-api.test',
      scope: 'orders:read orders:list',
    });
  });

  it('answers target_unknown for a target that is not configured', () => {
    const decision = denied(engine(policy()).decide(request({ target: 'nope' })));
    expect(decision.code).toBe('target_unknown');
  });

  it('answers scope_invalid with issue paths, never the values', () => {
    const decision = denied(
      engine(policy()).decide(
        request({ scope: { scopes: ['ok', 'bad value!'], evil_key: 's3cr3t' } }),
      ),
    );
    expect(decision.code).toBe('scope_invalid');
    const messages = decision.reasons.map((r) => r.message).join('\n');
    expect(messages).toContain('scopes[1]');
    expect(messages).not.toContain('bad value');
    expect(messages).not.toContain('evil_key');
    expect(messages).not.toContain('s3cr3t');
  });

  it('does not match a policy for another target or another workload', () => {
    const e = engine(
      policy({ target: 'billing-api', allow: { scopes: ['*'] } }),
      policy({ name: 'p2' }),
    );
    expect(denied(e.decide(request({ workload: { id: 'other', tier: 'write' } }))).reasons).toEqual(
      [expect.objectContaining({ code: 'no_matching_policy' })],
    );
    expect(granted(e.decide(request())).policy).toBe('p2');
  });

  it('matches workloads by tier', () => {
    const e = engine(policy({ workloads: ['tier:write'] }));
    expect(e.decide(request({ workload: { id: 'anyone', tier: 'write' } })).allow).toBe(true);
    const read = denied(e.decide(request({ workload: { id: 'anyone', tier: 'read' } })));
    expect(read.reasons.map((r) => r.code)).toEqual(['no_matching_policy']);
    const admin = denied(e.decide(request({ workload: { id: 'anyone', tier: 'admin' } })));
    expect(admin.code).toBe('policy_denied');
  });

  it('grants by the first passing policy in config order', () => {
    const e = engine(
      policy({ name: 'first', intents: ['other'] }),
      policy({ name: 'second' }),
      policy({ name: 'third' }),
    );
    expect(granted(e.decide(request())).policy).toBe('second');
  });
});

describe('PolicyEngine: per-policy checks', () => {
  it('denies an intent the policy does not list, and allows "*"', () => {
    const decision = denied(
      engine(policy()).decide(request({ task: { id: 't', intent: 'delete' } })),
    );
    expect(decision.code).toBe('intent_not_allowed');
    expect(decision.reasons).toEqual([
      expect.objectContaining({ code: 'intent_not_allowed', policy: 'orders-read' }),
    ]);
    const any = engine(policy({ intents: ['*'] }));
    expect(any.decide(request({ task: { id: 't', intent: 'delete' } })).allow).toBe(true);
  });

  it('requires an actor when the policy says so', () => {
    const e = engine(policy({ require_actor: true }));
    const decision = denied(e.decide(request()));
    expect(decision.code).toBe('policy_denied');
    expect(decision.reasons.map((r) => r.code)).toEqual(['actor_required']);
    const actor = { subject: 'user:alice', issuer: 'https://idp.test', claims: {} };
    expect(e.decide(request({ actor })).allow).toBe(true);
  });

  it('denies a scope beyond the ceiling, naming the scope', () => {
    const decision = denied(
      engine(policy()).decide(request({ scope: { scopes: ['orders:read', 'billing:read'] } })),
    );
    expect(decision.code).toBe('scope_exceeds_ceiling');
    expect(decision.reasons[0]?.message).toContain('billing:read');
  });

  it('uses default_ttl when none is asked, and accepts up to max_ttl', () => {
    const e = engine(policy());
    expect(granted(e.decide(request())).ttlMs).toBe(300_000);
    expect(granted(e.decide(request({ ttlMs: 900_000 }))).ttlMs).toBe(900_000);
    expect(granted(e.decide(request({ ttlMs: 1_000 }))).ttlMs).toBe(1_000);
  });

  it.each([[900_001], [999], [0], [-5], [1500.5], [Number.NaN], [Number.POSITIVE_INFINITY]])(
    'denies ttl %s as out of range',
    (ttlMs) => {
      const decision = denied(engine(policy()).decide(request({ ttlMs })));
      expect(decision.code).toBe('ttl_out_of_range');
      // Callers ask in seconds; a bound told in ms reads as a thousand times too long.
      expect(decision.reasons[0]?.message).toBe('ttl must be between 1 and 900 seconds');
    },
  );

  it('answers the common code only when every candidate failed the same way', () => {
    const sameWay = engine(policy({ name: 'a' }), policy({ name: 'b', max_ttl: '10m' }));
    const both = denied(sameWay.decide(request({ ttlMs: 3_600_000 })));
    expect(both.code).toBe('ttl_out_of_range');
    expect(both.reasons.map((r) => r.policy)).toEqual(['a', 'b']);

    const mixed = engine(policy({ name: 'a' }), policy({ name: 'b', intents: ['other'] }));
    const decision = denied(mixed.decide(request({ ttlMs: 3_600_000 })));
    expect(decision.code).toBe('policy_denied');
    expect(decision.reasons.map((r) => [r.policy, r.code])).toEqual([
      ['a', 'ttl_out_of_range'],
      ['b', 'intent_not_allowed'],
    ]);
  });
});

describe('PolicyEngine: CEL conditions', () => {
  const decide = (when: string, overrides: Partial<PolicyRequest> = {}) =>
    engine(policy({ when })).decide(request(overrides));

  it.each([
    'workload.id == "orders-mcp" && workload.tier == "write"',
    'claims.ns == "mcp" && claims.level >= 3',
    'task.intent == "refund" && !has(task.tool)',
    '"orders:read" in scope.scopes',
    'request.ip == "10.0.0.7"',
    'request.time == now && now.getFullYear() == 2030',
    'now < timestamp("2030-01-16T00:00:00Z")',
    'actor == null',
  ])('grants when %s is true', (when) => {
    expect(granted(decide(when)).policy).toBe('orders-read');
  });

  it('sees the actor and its claims', () => {
    const actor = { subject: 'user:alice', issuer: 'https://idp.test', claims: { approved: true } };
    const when = 'actor.subject == "user:alice" && actor.claims.approved == true';
    expect(decide(when, { actor }).allow).toBe(true);
  });

  it('denies with condition_false when the condition is false', () => {
    const decision = denied(decide('claims.ns == "prod"'));
    expect(decision.code).toBe('policy_denied');
    expect(decision.reasons).toEqual([
      expect.objectContaining({ code: 'condition_false', policy: 'orders-read' }),
    ]);
  });

  it.each([
    ['a missing key', 'claims.missing == "x"'],
    ['an absent actor', 'actor.claims.approved == true'],
    ['a non-bool result', 'claims.level'],
    ['a string that reads true', 'claims.flag'],
  ])('denies with condition_error on %s', (_, when) => {
    const decision = denied(decide(when, { claims: { level: 3, flag: 'true' } }));
    expect(decision.code).toBe('policy_denied');
    expect(decision.reasons.map((r) => r.code)).toEqual(['condition_error']);
  });

  it('keeps claim values out of an error reason', () => {
    const decision = denied(decide('int(claims.secret) > 0', { claims: { secret: 'hunter2' } }));
    expect(decision.reasons[0]?.code).toBe('condition_error');
    expect(JSON.stringify(decision.reasons)).not.toContain('hunter2');
  });

  it('evaluates the condition only after intent, actor, ceiling and ttl pass', () => {
    const decision = denied(decide('claims.missing == 1', { task: { id: 't', intent: 'delete' } }));
    expect(decision.reasons.map((r) => r.code)).toEqual(['intent_not_allowed']);
  });

  it('lets the design example through only with an approving actor', () => {
    const e = engine(
      policy({
        allow: { scopes: ['orders:*'] },
        when: '!("orders:refund" in scope.scopes) || (actor != null && actor.claims.approved == true)',
      }),
    );
    const refund = { scope: { scopes: ['orders:refund'] } };
    expect(e.decide(request({ scope: { scopes: ['orders:read'] } })).allow).toBe(true);
    expect(e.decide(request(refund)).allow).toBe(false);
    const actor = { subject: 'user:alice', issuer: 'https://idp.test', claims: { approved: true } };
    expect(e.decide(request({ ...refund, actor })).allow).toBe(true);
  });
});

describe('PolicyEngine: policy hash', () => {
  it('is a sha256 stamped on every decision', () => {
    const e = engine(policy());
    expect(e.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(e.decide(request()).policyHash).toBe(e.hash);
    expect(e.decide(request({ target: 'nope' })).policyHash).toBe(e.hash);
  });

  it('changes when any policy changes', () => {
    const base = engine(policy()).hash;
    expect(engine(policy({ max_ttl: '16m' })).hash).not.toBe(base);
    expect(engine(policy({ allow: { scopes: ['orders:read'] } })).hash).not.toBe(base);
    expect(engine(policy({ when: 'true' })).hash).not.toBe(base);
    expect(engine(policy(), policy({ name: 'p2' })).hash).not.toBe(base);
    expect(engine(policy()).hash).toBe(base);
  });

  it('is stable across key order', () => {
    const a = policy({ allow: { scopes: ['orders:*'] } });
    const reordered = Object.fromEntries(Object.entries(a).reverse()) as PolicyConfig;
    expect(Object.keys(reordered)).not.toEqual(Object.keys(a));
    expect(engine(reordered).hash).toBe(engine(a).hash);
  });

  it('depends on policy order, since the first passing policy decides', () => {
    const a = policy({ name: 'a' });
    const b = policy({ name: 'b' });
    expect(engine(a, b).hash).not.toBe(engine(b, a).hash);
  });
});

describe('PolicyEngine: config errors', () => {
  const fails = (policies: PolicyConfig[], path: string) => {
    const build = () => engine(...policies);
    expect(build).toThrow(PolicyConfigError);
    try {
      build();
    } catch (err) {
      expect((err as PolicyConfigError).path).toBe(path);
      expect((err as Error).message.startsWith(`${path}: `)).toBe(true);
    }
  };

  it('names an unknown target', () =>
    fails([policy(), policy({ name: 'b', target: 'nope' })], 'policies[1].target'));
  it('names a ceiling the provider rejects', () =>
    fails([policy({ allow: { scopes: ['*:read'] } })], 'policies[0].allow'));
  it('names a ceiling of the wrong shape', () =>
    fails([policy({ allow: { repositories: ['a/*'] } })], 'policies[0].allow'));
  it('names a condition with a syntax error', () =>
    fails([policy({ when: 'claims.ns == ' })], 'policies[0].when'));
  it('names a condition with an unknown variable', () =>
    fails([policy({ when: 'user.admin == true' })], 'policies[0].when'));
  it('names a condition that cannot be a bool', () =>
    fails([policy({ when: '1 + 2' })], 'policies[0].when'));
  it('names a condition that nests loops too deep', () =>
    fails(
      [policy({ when: 'claims.a.all(x, claims.b.all(y, claims.c.exists(z, x == y && y == z)))' })],
      'policies[0].when',
    ));
  it('names a duplicate policy name', () => fails([policy(), policy()], 'policies[1].name'));
  it('names an unknown tier', () =>
    fails([policy({ workloads: ['orders-mcp', 'tier:root'] })], 'policies[0].workloads[1]'));

  it('accepts two nested loops', () => {
    expect(() =>
      engine(policy({ when: 'claims.a.all(x, claims.b.exists(y, x == y))' })),
    ).not.toThrow();
  });
});

describe('tier cap', () => {
  // A provider whose `admin:*` scopes are write-capable: the tier rule, not the policy, caps them.
  const base = jwtTarget('orders-api');
  const tiered: Provider = {
    ...base,
    within: base.within.bind(base),
    tierAllows: (scope, tier) =>
      tier === 'read' &&
      (scope as { scopes: string[] }).scopes.some((s) => s.startsWith('orders:write'))
        ? { ok: false, reason: 'orders:write needs tier write' }
        : { ok: true },
  };
  const e = new PolicyEngine(
    [policy({ workloads: ['tier:read', 'tier:write'] })],
    new Map([['orders-api', tiered]]),
  );
  const ask = (tier: 'read' | 'write', scope: string) =>
    e.decide(request({ workload: { id: 'w', tier }, scope: { scopes: [scope] } }));

  it('refuses a write-capable grant to a read-tier workload even when a policy allows it', () => {
    const decision = ask('read', 'orders:write');
    expect(decision.allow).toBe(false);
    if (decision.allow) return;
    expect(decision.reasons.map((r) => r.code)).toEqual(['tier_exceeded']);
  });

  it('grants it to a write-tier workload, and read scopes to both', () => {
    expect(ask('write', 'orders:write').allow).toBe(true);
    expect(ask('read', 'orders:read').allow).toBe(true);
  });
});
