import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Provider } from '../../../providers/provider.js';
import { type PolicyConfig, policySchema } from '../../../src/config/schema.js';
import { type ConditionVariables, compileCondition } from '../../../src/policy/condition.js';
import {
  type Decision,
  PolicyConfigError,
  PolicyEngine,
  type PolicyRequest,
} from '../../../src/policy/engine.js';
import { jwtTarget } from '../../helpers/policy-fixtures.js';

/*
 * Policy rules that mutation testing found unpinned: each test here fails when the rule it
 * names is weakened in src/policy.
 */

const ORDERS: Provider = jwtTarget('orders-api');

/** A target whose scope is a map of labels, so a validation issue can sit under any key. */
const LABELS: Provider = {
  kind: 'jwt',
  target: 'labels-api',
  scope: z.object({ labels: z.record(z.string(), z.number()) }),
  ceiling: z.object({}),
  within: () => ({ ok: true }),
  mint: () => Promise.reject(new Error('nothing is minted in these tests')),
  revoke: () => Promise.resolve(),
  check: () => Promise.resolve({ ok: true }),
  revokeConcurrency: 1,
};

const PROVIDERS: ReadonlyMap<string, Provider> = new Map([
  ['orders-api', ORDERS],
  ['labels-api', LABELS],
]);

function policy(overrides: Record<string, unknown> = {}): PolicyConfig {
  return policySchema.parse({
    name: 'orders-read',
    workloads: ['orders-mcp'],
    target: 'orders-api',
    allow: { scopes: ['orders:*'] },
    intents: ['refund'],
    default_ttl: '5m',
    max_ttl: '15m',
    ...overrides,
  });
}

function request(overrides: Partial<PolicyRequest> = {}): PolicyRequest {
  return {
    workload: { id: 'orders-mcp', tier: 'write' },
    claims: { sub: 'agent' },
    target: 'orders-api',
    scope: { scopes: ['orders:read'] },
    task: { id: 'task-1', intent: 'refund' },
    request: { ip: '10.0.0.7', time: Date.parse('2030-01-15T10:00:00Z') },
    ...overrides,
  };
}

function decide(policies: PolicyConfig[], req: PolicyRequest = request()): Decision {
  return new PolicyEngine(policies, PROVIDERS).decide(req);
}

function denial(decision: Decision) {
  if (decision.allow) throw new Error(`expected a denial, got a grant by ${decision.policy}`);
  return decision;
}

function configError(policies: PolicyConfig[]): PolicyConfigError {
  try {
    new PolicyEngine(policies, PROVIDERS);
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyConfigError);
    return err as PolicyConfigError;
  }
  throw new Error('expected a PolicyConfigError');
}

describe('PolicyEngine: loading', () => {
  it('loads a valid set with distinct names, known tiers, a valid ceiling and no condition', () => {
    const engine = new PolicyEngine(
      [
        policy({ name: 'by-id' }),
        policy({ name: 'by-tier', workloads: ['tier:read', 'tier:write', 'tier:admin'] }),
      ],
      PROVIDERS,
    );
    expect(engine.decide(request()).allow).toBe(true);
  });

  it('says which part of a ceiling the provider refused', () => {
    const err = configError([policy({ allow: { scopes: [7] } })]);
    expect(err.path).toBe('policies[0].allow');
    expect(err.message).toMatch(/scopes\[0\]: /);
  });

  it('names a workload entry with an unknown tier, and only that', () => {
    const err = configError([policy({ workloads: ['orders-mcp', 'tier:root'] })]);
    expect(err.path).toBe('policies[0].workloads[1]');
    expect(err.message).toContain('unknown tier "root"');
  });
});

describe('PolicyEngine: denials say why', () => {
  it('gives a target_unknown denial its reason', () => {
    expect(denial(decide([policy()], request({ target: 'nope' }))).reasons).toEqual([
      { code: 'target_unknown', message: 'no target of that name is configured' },
    ]);
  });

  it('codes every scope issue scope_invalid', () => {
    const decision = denial(decide([policy()], request({ scope: { scopes: [1, 2] } })));
    expect(decision.reasons.map((r) => r.code)).toEqual(['scope_invalid', 'scope_invalid']);
  });

  it.each([
    ['condition_false', { when: 'false' }],
    ['actor_required', { require_actor: true }],
    ['condition_error', { when: 'claims.missing == 1' }],
  ])('hides a lone %s behind policy_denied', (reason, overrides) => {
    const decision = denial(decide([policy(overrides)]));
    expect(decision.code).toBe('policy_denied');
    expect(decision.reasons.map((r) => r.code)).toEqual([reason]);
  });
});

describe('PolicyEngine: scope issue paths', () => {
  const labels = (scope: unknown) =>
    denial(
      decide(
        [policy({ target: 'labels-api', allow: {} })],
        request({ target: 'labels-api', scope }),
      ),
    ).reasons.map((r) => r.message);

  it('writes names, indexes and the root the way a config path reads', () => {
    expect(labels(null)).toEqual(['(root): invalid_type']);
    expect(labels({ labels: { team: 'red' } })).toEqual(['labels.team: invalid_type']);
    expect(denial(decide([policy()], request({ scope: { scopes: [7] } }))).reasons).toEqual([
      expect.objectContaining({ message: 'scopes[0]: invalid_type' }),
    ]);
  });

  it('never echoes a key that is not a plain name', () => {
    for (const key of ['a b', 'b!', 'a!b', 'x'.repeat(65), '<script>']) {
      expect(labels({ labels: { [key]: 'red' } }), key).toEqual(['labels[?]: invalid_type']);
    }
  });
});

describe('PolicyEngine: condition variables', () => {
  it('leaves request.ip absent when the request has none', () => {
    const when = '!has(request.ip) && request.time == now';
    const noIp = request({ request: { time: Date.parse('2030-01-15T10:00:00Z') } });
    expect(decide([policy({ when })], noIp).allow).toBe(true);
    expect(decide([policy({ when })]).allow).toBe(false);
  });
});

describe('compileCondition', () => {
  const variables: ConditionVariables = {
    workload: { id: 'w', tier: 'read' },
    claims: { s: 'x' },
    actor: null,
    task: { id: 't', intent: 'i' },
    scope: {},
    request: { time: new Date(0) },
    now: new Date(0),
  };

  it('answers true, false, or an error code, and never another value as a yes', () => {
    expect(compileCondition('workload.id == "w"').evaluate(variables)).toEqual({ result: 'true' });
    expect(compileCondition('workload.id == "v"').evaluate(variables)).toEqual({
      result: 'false',
    });
    expect(compileCondition('claims.s').evaluate(variables)).toEqual({
      result: 'error',
      code: 'not_a_bool',
    });
    expect(compileCondition('claims.missing == 1').evaluate(variables)).toEqual({
      result: 'error',
      code: 'no_such_key',
    });
  });

  it('gives a failure without a code a fixed one, never its message', () => {
    const claims = {
      get s(): string {
        throw new Error('secret-claim-value');
      },
    };
    expect(compileCondition('claims.s == "x"').evaluate({ ...variables, claims })).toEqual({
      result: 'error',
      code: 'evaluation_error',
    });
  });

  it('refuses with the first line of the problem only', () => {
    expect(() => compileCondition('1 +')).toThrow(/^Unexpected token: EOF$/);
    expect(() => compileCondition('user.admin == true')).toThrow(/^Unknown variable: user$/);
    expect(() => compileCondition('"yes"')).toThrow(/^must evaluate to a bool, not string$/);
  });

  it.each([
    ['map', '[1].all(x, [1].all(y, [1].map(z, z).size() == 1))'],
    ['filter', '[1].all(x, [1].all(y, [1].filter(z, z == 1).size() == 1))'],
    ['exists_one', '[1].all(x, [1].all(y, [1].exists_one(z, z == 1)))'],
  ])('counts %s as a loop when capping nesting', (_, when) => {
    expect(() => compileCondition(when)).toThrow(/nest deeper than 2/);
  });

  it.each([
    ['list elements', `[${Array.from({ length: 257 }, (_, i) => i).join(', ')}].size() > 0`],
    ['map entries', `{${Array.from({ length: 257 }, (_, i) => `${i}: 1`).join(', ')}}.size() > 0`],
    ['depth', `${'('.repeat(40)}true${')'.repeat(40)}`],
    ['AST nodes', Array.from({ length: 600 }, () => 'true').join(' && ')],
  ])('refuses an expression over the limit of %s', (_, when) => {
    expect(() => compileCondition(when)).toThrow(/Exceeded max/);
  });
});
