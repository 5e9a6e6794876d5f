import { describe, expect, it } from 'vitest';
import { awsCeilingSchema, awsScopeSchema, awsWithin } from '../../../providers/aws/scope.js';
import { suggestAwsCeiling } from '../../../providers/aws/suggest.js';
import {
  githubCeilingSchema,
  githubScopeSchema,
  githubWithin,
} from '../../../providers/github/scope.js';
import { suggestGithubCeiling } from '../../../providers/github/suggest.js';
import { jwtCeilingSchema, jwtScopeSchema, jwtWithin } from '../../../providers/jwt/scope.js';
import { suggestJwtCeiling } from '../../../providers/jwt/suggest.js';
import {
  mysqlCeilingSchema,
  mysqlScopeSchema,
  mysqlWithin,
} from '../../../providers/mysql/scope.js';
import { suggestMysqlCeiling } from '../../../providers/mysql/suggest.js';
import {
  postgresCeilingSchema,
  postgresScopeSchema,
  postgresWithin,
} from '../../../providers/postgres/scope.js';
import { suggestPostgresCeiling } from '../../../providers/postgres/suggest.js';
import type { Provider } from '../../../providers/provider.js';
import {
  redisCeilingSchema,
  redisScopeSchema,
  redisWithin,
} from '../../../providers/redis/scope.js';
import { suggestRedisCeiling } from '../../../providers/redis/suggest.js';
import type { Lease } from '../../../src/leases/types.js';
import type { GrantView } from '../../../src/workloads/grants.js';
import { suggestCeilings } from '../../../src/workloads/suggestions.js';

/*
 * A suggested ceiling is never wider than the policy's current one. The attack: a policy is
 * narrowed by a reload, but the report window still holds leases granted under its wider,
 * earlier version; a suggestion built from all of them would widen the policy again.
 */

interface Case {
  provider: Pick<Provider, 'scope' | 'ceiling' | 'within'> & {
    suggestCeiling: NonNullable<Provider['suggestCeiling']>;
  };
  /** The policy's ceiling now, after the reload that narrowed it. */
  current: unknown;
  /** A scope the current ceiling holds. */
  inside: unknown;
  /** A scope granted before the reload, outside the current ceiling. */
  outside: unknown;
  /** What the suggestion must hold: built from `inside` alone. */
  expected: unknown;
}

const CASES: Record<string, Case> = {
  jwt: {
    provider: {
      scope: jwtScopeSchema(16),
      ceiling: jwtCeilingSchema,
      within: jwtWithin as Provider['within'],
      suggestCeiling: suggestJwtCeiling as NonNullable<Provider['suggestCeiling']>,
    },
    current: { scopes: ['tickets:read', 'tickets:list'] },
    inside: { scopes: ['tickets:read'] },
    outside: { scopes: ['tickets:delete'] },
    expected: { scopes: ['tickets:read'] },
  },
  postgres: {
    provider: {
      scope: postgresScopeSchema,
      ceiling: postgresCeilingSchema,
      within: postgresWithin(new Set(['reader', 'writer', 'owner'])) as Provider['within'],
      suggestCeiling: suggestPostgresCeiling as NonNullable<Provider['suggestCeiling']>,
    },
    current: { roles: ['reader', 'writer'] },
    inside: { roles: ['reader'] },
    outside: { roles: ['owner'] },
    expected: { roles: ['reader'] },
  },
  mysql: {
    provider: {
      scope: mysqlScopeSchema,
      ceiling: mysqlCeilingSchema,
      within: mysqlWithin(new Set(['read', 'write', 'admin'])) as Provider['within'],
      suggestCeiling: suggestMysqlCeiling as NonNullable<Provider['suggestCeiling']>,
    },
    current: { privilege_sets: ['read', 'write'] },
    inside: { privilege_sets: ['read'] },
    outside: { privilege_sets: ['admin'] },
    expected: { privilege_sets: ['read'] },
  },
  redis: {
    provider: {
      scope: redisScopeSchema,
      ceiling: redisCeilingSchema,
      within: redisWithin as Provider['within'],
      suggestCeiling: suggestRedisCeiling as NonNullable<Provider['suggestCeiling']>,
    },
    current: { keys: ['cache:*'], categories: ['read', 'write'] },
    inside: { keys: ['cache:user:*'], categories: ['read'] },
    outside: { keys: ['session:*'], categories: ['write'] },
    expected: { keys: ['cache:user:*'], categories: ['read'] },
  },
  github: {
    provider: {
      scope: githubScopeSchema,
      ceiling: githubCeilingSchema,
      within: githubWithin as Provider['within'],
      suggestCeiling: suggestGithubCeiling as NonNullable<Provider['suggestCeiling']>,
    },
    current: { repositories: ['acme/api', 'acme/web'], permissions: { contents: 'read' } },
    inside: { repositories: ['acme/api'], permissions: { contents: 'read' } },
    outside: { repositories: ['acme/infra'], permissions: { contents: 'write' } },
    expected: { repositories: ['acme/api'], permissions: { contents: 'read' } },
  },
  aws: {
    provider: {
      scope: awsScopeSchema,
      ceiling: awsCeilingSchema,
      within: awsWithin as Provider['within'],
      suggestCeiling: suggestAwsCeiling as NonNullable<Provider['suggestCeiling']>,
    },
    current: {
      actions: ['s3:GetObject', 's3:ListBucket'],
      resources: ['arn:aws:s3:::reports-*'],
    },
    inside: { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::reports-2026/*'] },
    outside: { actions: ['s3:PutObject'], resources: ['arn:aws:s3:::backups/*'] },
    expected: { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::reports-2026/*'] },
  },
};

function grant(ceiling: unknown): GrantView {
  return { policy: 'p', effect: 'allow', mode: 'enforce', target: 't', ceiling, intents: ['x'] };
}

function lease(scope: unknown): Lease {
  return { policy: 'p', target: 't', scope } as unknown as Lease;
}

describe('suggested ceilings stay within the current ceiling', () => {
  for (const [kind, c] of Object.entries(CASES)) {
    const providers = new Map([['t', c.provider as unknown as Provider]]);

    it(`${kind}: a scope granted under a wider, earlier policy is left out of the suggestion`, () => {
      // The fixtures are what they say: inside is held by the current ceiling, outside is not.
      const ceiling = c.provider.ceiling.parse(c.current);
      expect(c.provider.within(c.provider.scope.parse(c.inside), ceiling).ok).toBe(true);
      expect(c.provider.within(c.provider.scope.parse(c.outside), ceiling).ok).toBe(false);

      const [s] = suggestCeilings(
        [grant(c.current)],
        [lease(c.inside), lease(c.outside)],
        providers,
      );
      expect(s).toMatchObject({ status: 'suggested', allow: c.expected });
      const allow = (s as { allow: unknown }).allow;
      expect(c.provider.within(c.provider.scope.parse(allow), ceiling).ok).toBe(true);
    });

    it(`${kind}: when nothing used is within the current ceiling, there is no suggestion`, () => {
      const [s] = suggestCeilings([grant(c.current)], [lease(c.outside)], providers);
      expect(s).toMatchObject({ status: 'no_suggestion' });
      expect(s).not.toHaveProperty('allow');
    });
  }

  it('a provider whose suggestion would be wider than the ceiling gets no suggestion', () => {
    const c = CASES.jwt as Case;
    const widening = { ...c.provider, suggestCeiling: () => ({ scopes: ['tickets:*'] }) };
    const [s] = suggestCeilings(
      [grant(c.current)],
      [lease(c.inside)],
      new Map([['t', widening as unknown as Provider]]),
    );
    expect(s).toMatchObject({ status: 'no_suggestion' });
  });
});
