import type { GitHubFake } from '../fakes/github.js';

/**
 * A github target's config whose App authenticates to the fake as its installation on the
 * `acme` organisation; `extra` adds or overrides fields.
 */
export function githubTarget(fake: GitHubFake, name: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    provider: 'github',
    app_id: fake.appId,
    installation_id: fake.installationId,
    private_key: fake.privateKeyPem,
    owner: 'acme',
    base_url: fake.url,
    ...extra,
  };
}
