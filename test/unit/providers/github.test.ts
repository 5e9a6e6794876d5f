import { describe, expect, it } from 'vitest';
import {
  githubCeilingSchema,
  githubProviderFactory,
  githubScopeSchema,
  githubTierAllows,
  githubWithin,
} from '../../../providers/github/index.js';

const KEY = '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n';

function target(overrides: Record<string, unknown> = {}) {
  return {
    name: 'github-acme',
    provider: 'github',
    app_id: '123456',
    installation_id: 987654,
    private_key: KEY,
    ...overrides,
  };
}

const ceiling = githubCeilingSchema.parse({
  repositories: ['acme/*', 'other/docs'],
  permissions: { contents: 'write', pull_requests: 'write', metadata: 'read' },
});

describe('github scope', () => {
  it('accepts owner/name repositories of one owner and named permissions', () => {
    const ok = githubScopeSchema.safeParse({
      repositories: ['acme/api', 'acme/web'],
      permissions: { contents: 'read' },
    });
    expect(ok.success).toBe(true);
  });

  it.each([
    [
      'no repositories (the token would reach every repository)',
      { repositories: [], permissions: { contents: 'read' } },
    ],
    [
      'no permissions (the token would carry all of the installation)',
      { repositories: ['acme/api'], permissions: {} },
    ],
    ['two owners', { repositories: ['acme/api', 'evil/api'], permissions: { contents: 'read' } }],
    ['a bare name', { repositories: ['api'], permissions: { contents: 'read' } }],
    ['a glob in a request', { repositories: ['acme/*'], permissions: { contents: 'read' } }],
    [
      'a duplicate, by case',
      { repositories: ['acme/api', 'ACME/API'], permissions: { contents: 'read' } },
    ],
    ['an unknown level', { repositories: ['acme/api'], permissions: { contents: 'owner' } }],
    [
      'an odd permission name',
      { repositories: ['acme/api'], permissions: { 'contents;x': 'read' } },
    ],
    [
      'an extra field',
      { repositories: ['acme/api'], permissions: { contents: 'read' }, all: true },
    ],
  ])('refuses %s', (_label, scope) => {
    expect(githubScopeSchema.safeParse(scope).success).toBe(false);
  });
});

describe('github ceiling (within)', () => {
  const scope = (repositories: string[], permissions: Record<string, string>) =>
    githubScopeSchema.parse({ repositories, permissions });

  it("never finds a permission among the ceiling object's inherited names", () => {
    const check = githubWithin(scope(['acme/api'], { constructor: 'read' }), ceiling);
    expect(check.ok).toBe(false);
  });

  it('allows repositories matched by a pattern and permissions up to their level', () => {
    expect(githubWithin(scope(['acme/api'], { contents: 'read' }), ceiling)).toEqual({ ok: true });
    expect(githubWithin(scope(['ACME/Api'], { contents: 'write' }), ceiling)).toEqual({ ok: true });
    expect(githubWithin(scope(['other/docs'], { metadata: 'read' }), ceiling)).toEqual({
      ok: true,
    });
  });

  it.each([
    [['other/api'], { contents: 'read' }, 'repository "other/api"'],
    [['acme/api'], { issues: 'read' }, 'permission "issues"'],
    [['acme/api'], { metadata: 'write' }, '"metadata: write" exceeds "read"'],
    [['acme/api'], { contents: 'admin' }, '"contents: admin" exceeds "write"'],
  ])('refuses %j %j', (repositories, permissions, reason) => {
    const check = githubWithin(scope(repositories, permissions), ceiling);
    expect(check.ok).toBe(false);
    expect(check.ok ? '' : check.reason).toContain(reason);
  });

  it('matches prefix patterns on the name only', () => {
    const prefixed = githubCeilingSchema.parse({
      repositories: ['acme/svc-*'],
      permissions: { contents: 'read' },
    });
    expect(githubWithin(scope(['acme/svc-billing'], { contents: 'read' }), prefixed).ok).toBe(true);
    expect(githubWithin(scope(['acme/api'], { contents: 'read' }), prefixed).ok).toBe(false);
    expect(githubWithin(scope(['acme-evil/svc-x'], { contents: 'read' }), prefixed).ok).toBe(false);
  });
});

describe('github tiers', () => {
  const scope = (permissions: Record<string, string>) =>
    githubScopeSchema.parse({ repositories: ['acme/api'], permissions });

  it('a read tier holds read permissions only', () => {
    expect(githubTierAllows(scope({ contents: 'read', metadata: 'read' }), 'read').ok).toBe(true);
    expect(githubTierAllows(scope({ contents: 'write' }), 'read').ok).toBe(false);
  });

  it('a write tier may write content but not administer, nor touch secrets or workflows', () => {
    expect(githubTierAllows(scope({ contents: 'write', pull_requests: 'write' }), 'write').ok).toBe(
      true,
    );
    for (const permissions of [
      { administration: 'write' },
      { workflows: 'write' },
      { secrets: 'write' },
      { contents: 'admin' },
      { organization_self_hosted_runners: 'write' },
      { repository_hooks: 'write' },
      { checks: 'write' },
      { statuses: 'write' },
      { some_future_permission: 'write' },
    ]) {
      expect(githubTierAllows(scope(permissions), 'write').ok, JSON.stringify(permissions)).toBe(
        false,
      );
    }
    expect(githubTierAllows(scope({ secrets: 'read' }), 'write').ok).toBe(true);
    expect(githubTierAllows(scope({ administration: 'write' }), 'admin').ok).toBe(true);
  });
});

describe('github target config', () => {
  it('accepts the documented shape and fills defaults', () => {
    const parsed = githubProviderFactory.config.parse(target()) as unknown as Record<
      string,
      unknown
    >;
    expect(parsed).toMatchObject({
      app_id: '123456',
      base_url: 'https://api.github.com',
      revoke_concurrency: 8,
    });
    expect(
      (githubProviderFactory.config.parse(target({ app_id: 42 })) as unknown as { app_id: string })
        .app_id,
    ).toBe('42');
  });

  it.each([
    ['a key that is not PEM', { private_key: 'not-a-key' }],
    ['a non-numeric app id', { app_id: 'abc' }],
    ['no installation', { installation_id: undefined }],
    ['an unknown field', { token: 'ghp_x' }],
    ['a bad owner', { owner: 'a b' }],
  ])('refuses %s without echoing the key', (_label, overrides) => {
    expect(() =>
      githubProviderFactory.create(target(overrides), { brokerUrl: 'https://b' }),
    ).toThrow(TypeError);
    try {
      githubProviderFactory.create(target(overrides), { brokerUrl: 'https://b' });
    } catch (err) {
      expect((err as Error).message).not.toContain('MIIB');
    }
  });
});
