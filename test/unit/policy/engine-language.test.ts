import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { githubProviderFactory } from '../../../providers/github/index.js';
import type { Provider } from '../../../providers/provider.js';
import { type PolicyConfig, policySchema } from '../../../src/config/schema.js';
import {
  type Decision,
  PolicyConfigError,
  PolicyEngine,
  type PolicyRequest,
} from '../../../src/policy/engine.js';
import { policyDigest } from '../../../src/policy/hash.js';
import { filesPolicy, jwtTarget } from '../../helpers/policy-fixtures.js';

const RSA = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

const PROVIDERS: ReadonlyMap<string, Provider> = new Map([
  ['files-api', jwtTarget('files-api')],
  [
    'repos',
    githubProviderFactory.create(
      {
        name: 'repos',
        provider: 'github',
        app_id: 1,
        installation_id: 2,
        private_key: RSA,
        base_url: 'http://127.0.0.1:9',
      },
      { brokerUrl: 'https://broker.test' },
    ),
  ],
]);

const policy = filesPolicy;

function deny(overrides: Record<string, unknown> = {}): PolicyConfig {
  return policySchema.parse({
    name: 'no-writes',
    effect: 'deny',
    workloads: ['files-mcp'],
    target: 'files-api',
    intents: ['*'],
    ...overrides,
  });
}

const NOW = Date.parse('2030-01-15T10:00:00Z');

function request(overrides: Partial<PolicyRequest> = {}): PolicyRequest {
  return {
    workload: { id: 'files-mcp', tier: 'write' },
    claims: {},
    target: 'files-api',
    scope: { scopes: ['files:read'] },
    task: { id: 'task-1', intent: 'triage' },
    request: { time: NOW },
    ...overrides,
  };
}

const engine = (...policies: PolicyConfig[]) => new PolicyEngine(policies, PROVIDERS);

function outcome(decision: Decision): string {
  return decision.allow
    ? `allow:${decision.policy}`
    : `deny:${decision.reasons.map((r) => r.code).join(',')}`;
}

describe('deny rules override every allow', () => {
  const cases: {
    name: string;
    rule: Record<string, unknown>;
    req: Partial<PolicyRequest>;
    want: string;
  }[] = [
    { name: 'an unconditional deny refuses', rule: {}, req: {}, want: 'deny:denied_by_rule' },
    {
      name: 'a deny of another intent does not apply',
      rule: { intents: ['delete'] },
      req: {},
      want: 'allow:files',
    },
    {
      name: 'a deny of the intent applies',
      rule: { intents: ['triage'] },
      req: {},
      want: 'deny:denied_by_rule',
    },
    {
      name: 'a deny by tier applies',
      rule: { workloads: ['tier:write'] },
      req: {},
      want: 'deny:denied_by_rule',
    },
    {
      name: 'a deny of another tier does not',
      rule: { workloads: ['tier:read'] },
      req: {},
      want: 'allow:files',
    },
    {
      name: 'a deny by glob applies',
      rule: { workloads: ['files-*'] },
      req: {},
      want: 'deny:denied_by_rule',
    },
    {
      name: 'a deny by a glob that does not match',
      rule: { workloads: ['repo-*'] },
      req: {},
      want: 'allow:files',
    },
    {
      name: 'a deny whose condition is true applies',
      rule: { when: 'task.intent == "triage"' },
      req: {},
      want: 'deny:denied_by_rule',
    },
    {
      name: 'a deny whose condition is false does not',
      rule: { when: 'task.intent == "x"' },
      req: {},
      want: 'allow:files',
    },
    {
      name: 'a deny whose condition errors applies (fails closed)',
      rule: { when: 'claims.level > 2' },
      req: {},
      want: 'deny:denied_by_rule',
    },
    {
      name: 'a deny of write tools applies to a write tool',
      rule: { tools: ['write_*'] },
      req: { task: { id: 't', intent: 'triage', tool: 'write_file' } },
      want: 'deny:denied_by_rule',
    },
    {
      name: 'a deny of write tools does not apply to a read tool',
      rule: { tools: ['write_*'] },
      req: { task: { id: 't', intent: 'triage', tool: 'read_file' } },
      want: 'allow:files',
    },
    {
      name: 'a deny of tools applies to a request naming no tool',
      rule: { tools: ['write_*'] },
      req: {},
      want: 'deny:denied_by_rule',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const decision = engine(policy(), deny(c.rule)).decide(request(c.req));
      expect(outcome(decision)).toBe(c.want);
      if (!decision.allow) {
        expect(decision.deniedBy).toBe('no-writes');
        expect(decision.reasons[0]?.policy).toBe('no-writes');
      }
    });
  }

  it('the outcome does not depend on the order of policies (shuffled)', () => {
    const set = [
      policy({ name: 'a', intents: ['other'] }),
      policy({ name: 'b', workloads: ['tier:write'] }),
      deny({ name: 'd', tools: ['write_*'] }),
      policy({ name: 'c', tools: ['*'] }),
    ];
    const requests = [
      request(),
      request({ task: { id: 't', intent: 'triage', tool: 'read_file' } }),
      request({ task: { id: 't', intent: 'triage', tool: 'write_file' } }),
      request({ task: { id: 't', intent: 'other', tool: 'read_x' } }),
    ];
    const reference = requests.map((r) => engine(...set).decide(r).allow);
    expect(reference).toEqual([false, true, false, true]);
    let seed = 7;
    for (let round = 0; round < 20; round++) {
      const shuffled = [...set];
      for (let i = shuffled.length - 1; i > 0; i--) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const j = seed % (i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j] as PolicyConfig, shuffled[i] as PolicyConfig];
      }
      expect(requests.map((r) => engine(...shuffled).decide(r).allow)).toEqual(reference);
    }
  });
});

describe('per-tool scope', () => {
  const perTool = policy({
    tools: ['read_*', 'write_file'],
    allow: { scopes: ['files:*'] },
    tool_ceilings: { 'read_*': { scopes: ['files:read'] } },
  });
  const cases: { name: string; tool?: string; scopes: string[]; want: string }[] = [
    {
      name: 'a listed read tool gets its own ceiling',
      tool: 'read_file',
      scopes: ['files:read'],
      want: 'allow:files',
    },
    {
      name: 'a read tool asking to write exceeds its tool ceiling',
      tool: 'read_file',
      scopes: ['files:write'],
      want: 'deny:scope_exceeds_ceiling',
    },
    {
      name: 'the write tool gets the policy ceiling',
      tool: 'write_file',
      scopes: ['files:write'],
      want: 'allow:files',
    },
    {
      name: 'an unlisted tool is refused',
      tool: 'delete_file',
      scopes: ['files:read'],
      want: 'deny:tool_not_allowed',
    },
    {
      name: 'no tool is refused: the policy grants per tool',
      scopes: ['files:read'],
      want: 'deny:tool_required',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const task =
        c.tool === undefined ? { id: 't', intent: 'x' } : { id: 't', intent: 'x', tool: c.tool };
      expect(outcome(engine(perTool).decide(request({ task, scope: { scopes: c.scopes } })))).toBe(
        c.want,
      );
    });
  }
});

describe('dry-run policies decide separately', () => {
  it('a dry-run deny leaves the caller granted and says it would have denied', () => {
    const decision = engine(policy(), deny({ mode: 'dry_run' })).decide(request());
    expect(decision.allow).toBe(true);
    expect(decision.dryRun).toMatchObject({
      allow: false,
      policy: 'no-writes',
      differs: true,
      policies: ['no-writes'],
    });
  });

  it('a dry-run allow leaves the caller denied and says it would have granted', () => {
    const decision = engine(policy({ mode: 'dry_run' })).decide(request());
    expect(outcome(decision)).toBe('deny:no_matching_policy');
    expect(decision.dryRun).toMatchObject({ allow: true, policy: 'files', differs: true });
  });

  it('a set in dry_run leaves enforce-marked policies enforcing', () => {
    const e = new PolicyEngine([policy({ mode: 'enforce' }), deny()], PROVIDERS, {
      mode: 'dry_run',
    });
    const decision = e.decide(request());
    expect(decision.allow).toBe(true);
    expect(decision.dryRun).toMatchObject({ allow: false, policy: 'no-writes' });
  });

  it('no dry-run policy among the candidates: no dry-run outcome', () => {
    const decision = engine(policy(), deny({ mode: 'dry_run', workloads: ['other'] })).decide(
      request(),
    );
    expect(decision.dryRun).toBeUndefined();
  });
});

describe('explanations and hashes', () => {
  it('a denial lists every considered policy with its reason code and name', () => {
    const decision = engine(
      policy({ name: 'p1', intents: ['other'] }),
      policy({ name: 'p2', when: 'false' }),
      policy({ name: 'p3', tools: ['read_*'] }),
      policy({ name: 'elsewhere', workloads: ['someone-else'] }),
    ).decide(request());
    expect(decision.allow).toBe(false);
    expect(decision.allow ? [] : decision.reasons.map((r) => [r.policy, r.code])).toEqual([
      ['p1', 'intent_not_allowed'],
      ['p2', 'condition_false'],
      ['p3', 'tool_required'],
    ]);
  });

  it('a policy matching a workload by id, tier and glob is considered once, in file order', () => {
    const decision = engine(
      policy({
        name: 'z-by-all',
        workloads: ['files-mcp', 'tier:write', 'files-*'],
        when: 'false',
      }),
      policy({ name: 'a-by-tier', workloads: ['tier:write'], when: 'false' }),
      policy({ name: 'm-by-glob', workloads: ['f*-mcp'], when: 'false' }),
      policy({ name: 'other-tier', workloads: ['tier:read'] }),
      policy({
        name: 'other-target',
        target: 'repos',
        workloads: ['files-mcp'],
        allow: { repositories: ['o/r'], permissions: { contents: 'read' } },
      }),
    ).decide(request());
    expect(decision.allow ? [] : decision.reasons.map((r) => r.policy)).toEqual([
      'z-by-all',
      'a-by-tier',
      'm-by-glob',
    ]);
  });

  it('the set hash and the policy digest change with any field of a policy', () => {
    const a = policy();
    const b = policy({ tools: ['read_*'] });
    expect(engine(a).hash).not.toBe(engine(b).hash);
    expect(policyDigest(a)).not.toBe(policyDigest(b));
    const granted = engine(a).decide(request());
    expect(granted.allow && granted.policyDigest).toBe(policyDigest(a));
  });
});

describe('load-time checks name every problem by policy', () => {
  function problems(
    policies: PolicyConfig[],
    issuers = new Map<string, string>(),
  ): readonly string[] {
    try {
      new PolicyEngine(policies, PROVIDERS, { actorIssuers: issuers });
    } catch (err) {
      if (err instanceof PolicyConfigError) return err.issues;
      throw err;
    }
    return [];
  }

  it('lists all problems of all policies in one run', () => {
    const issues = problems([
      policy({ name: 'a', target: 'nowhere' }),
      policy({ name: 'b', allow: { scopes: ['x'], extra: true } }),
      policy({ name: 'c', when: 'task.nope == "x"' }),
      policy({ name: 'c' }),
      policy({
        name: 'd',
        target: 'repos',
        allow: { repositories: ['o/r'], permissions: { contents: 'read' } },
        max_ttl: '2h',
        tools: ['read_*'],
      }),
      deny({ name: 'e', require_actor: true }),
      policy({ name: 'f', require_actor: { issuers: ['unknown-idp'] } }),
    ]);
    expect(issues.some((i) => i.startsWith('policies[0].target: unknown target'))).toBe(true);
    expect(issues.some((i) => i.startsWith('policies[1].allow: not a valid ceiling'))).toBe(true);
    expect(issues.some((i) => i.startsWith('policies[2].when:'))).toBe(true);
    expect(issues).toContain('policies[3].name: duplicate policy name "c"');
    expect(issues.some((i) => i.startsWith('policies[4].max_ttl:'))).toBe(true);
    expect(
      issues.some((i) => i.startsWith('policies[4].tools:') && i.includes('never sees tools')),
    ).toBe(true);
    expect(issues.some((i) => i.startsWith('policies[5].require_actor:'))).toBe(true);
    expect(issues.some((i) => i.startsWith('policies[6].require_actor.issuers[0]'))).toBe(true);
  });

  it('refuses an approval on a deny rule', () => {
    const rule = { ...deny(), approval: 'required' } as unknown as PolicyConfig;
    expect(problems([rule])).toEqual(['policies[0].approval: a deny rule cannot require approval']);
  });

  it('refuses a deny rule with a ceiling or TTLs (schema)', () => {
    expect(
      policySchema.safeParse({
        name: 'x',
        effect: 'deny',
        workloads: ['w'],
        target: 't',
        intents: ['*'],
        allow: {},
      }).success,
    ).toBe(false);
  });
});
