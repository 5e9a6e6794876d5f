import { describe, expect, it } from 'vitest';
import { awsCeilingSchema, awsWithin } from '../../../providers/aws/scope.js';
import { suggestAwsCeiling } from '../../../providers/aws/suggest.js';
import { githubCeilingSchema, githubWithin } from '../../../providers/github/scope.js';
import { suggestGithubCeiling } from '../../../providers/github/suggest.js';
import { jwtCeilingSchema, jwtWithin } from '../../../providers/jwt/scope.js';
import { suggestJwtCeiling } from '../../../providers/jwt/suggest.js';
import { mysqlCeilingSchema, mysqlWithin } from '../../../providers/mysql/scope.js';
import { suggestMysqlCeiling } from '../../../providers/mysql/suggest.js';
import { postgresCeilingSchema, postgresWithin } from '../../../providers/postgres/scope.js';
import { suggestPostgresCeiling } from '../../../providers/postgres/suggest.js';
import { redisCeilingSchema, redisWithin } from '../../../providers/redis/scope.js';
import { suggestRedisCeiling } from '../../../providers/redis/suggest.js';

describe('suggestCeiling: the narrowest ceiling holding every used scope, per kind', () => {
  it('jwt: the scope strings used, nothing else', () => {
    const used = [{ scopes: ['tickets:read'] }, { scopes: ['tickets:read', 'docs:read'] }];
    const ceiling = jwtCeilingSchema.parse(suggestJwtCeiling(used));
    expect(ceiling).toEqual({ scopes: ['docs:read', 'tickets:read'] });
    for (const scope of used) expect(jwtWithin(scope, ceiling)).toEqual({ ok: true });
    expect(jwtWithin({ scopes: ['tickets:write'] }, ceiling).ok).toBe(false);
    // A used wildcard no ceiling entry can say exactly: no suggestion, never a wrong one.
    expect(suggestJwtCeiling([{ scopes: ['a*b'] }])).toBeUndefined();
    expect(suggestJwtCeiling([])).toBeUndefined();
  });

  it('github: the repositories used and each permission at its highest used level', () => {
    const used = [
      { repositories: ['acme/api'], permissions: { contents: 'read' as const } },
      {
        repositories: ['acme/web'],
        permissions: { contents: 'write' as const, issues: 'read' as const },
      },
    ];
    const ceiling = githubCeilingSchema.parse(suggestGithubCeiling(used));
    expect(ceiling).toEqual({
      repositories: ['acme/api', 'acme/web'],
      permissions: { contents: 'write', issues: 'read' },
    });
    for (const scope of used) expect(githubWithin(scope, ceiling)).toEqual({ ok: true });
    expect(
      githubWithin({ repositories: ['acme/ops'], permissions: { contents: 'read' } }, ceiling).ok,
    ).toBe(false);
  });

  it('postgres and mysql: the roles and privilege sets used', () => {
    const pg = [{ roles: ['app_read'] }, { roles: ['app_read', 'app_write'] }];
    const pgCeiling = postgresCeilingSchema.parse(suggestPostgresCeiling(pg));
    const pgWithin = postgresWithin(new Set(['app_read', 'app_write', 'app_admin']));
    for (const scope of pg) expect(pgWithin(scope, pgCeiling)).toEqual({ ok: true });
    expect(pgWithin({ roles: ['app_admin'] }, pgCeiling).ok).toBe(false);

    const my = [{ privilege_sets: ['reader'] }];
    const myCeiling = mysqlCeilingSchema.parse(suggestMysqlCeiling(my));
    const myWithin = mysqlWithin(new Set(['reader', 'writer']));
    expect(myWithin({ privilege_sets: ['reader'] }, myCeiling)).toEqual({ ok: true });
    expect(myWithin({ privilege_sets: ['writer'] }, myCeiling).ok).toBe(false);
  });

  it('redis: key and channel patterns and categories used', () => {
    const used = [
      { keys: ['cache:*'], categories: ['read' as const] },
      { keys: ['jobs:*'], categories: ['read' as const, 'list' as const], channels: ['events'] },
    ];
    const ceiling = redisCeilingSchema.parse(suggestRedisCeiling(used));
    for (const scope of used) expect(redisWithin(scope, ceiling)).toEqual({ ok: true });
    expect(redisWithin({ keys: ['cache:*'], categories: ['write'] }, ceiling).ok).toBe(false);
    expect(suggestRedisCeiling([{ keys: ['a'], categories: ['read'] }])).not.toHaveProperty(
      'channels',
    );
  });

  it('aws: the action and resource patterns used', () => {
    const used = [
      { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::reports/*'] },
      { actions: ['s3:ListBucket'], resources: ['arn:aws:s3:::reports'] },
    ];
    const ceiling = awsCeilingSchema.parse(suggestAwsCeiling(used));
    for (const scope of used) expect(awsWithin(scope, ceiling)).toEqual({ ok: true });
    expect(
      awsWithin({ actions: ['s3:PutObject'], resources: ['arn:aws:s3:::reports/*'] }, ceiling).ok,
    ).toBe(false);
  });
});
