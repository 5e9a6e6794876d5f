import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { githubTargetSchema } from '../../providers/github/config.js';
import { createGithubProvider } from '../../providers/github/create-provider.js';
import { newLeaseId } from '../../src/lib/ids.js';
import { type GitHubFake, startGitHubFake } from '../fakes/github.js';

describe('github provider toward a slow GitHub', () => {
  let fake: GitHubFake;

  beforeAll(async () => {
    fake = await startGitHubFake();
  });
  afterAll(async () => {
    fake.setLatency(0);
    await fake.close();
  });

  it('gives up after timeout_ms with a retryable error, never hanging issuance', async () => {
    const provider = createGithubProvider(
      githubTargetSchema.parse({
        name: 'github-acme',
        provider: 'github',
        app_id: fake.appId,
        installation_id: fake.installationId,
        private_key: fake.privateKeyPem,
        base_url: fake.url,
        timeout_ms: 300,
      }),
    );
    fake.setLatency(5_000);
    const started = Date.now();
    await expect(
      provider.mint({
        leaseId: newLeaseId('w'),
        workload: 'w',
        subject: 's',
        task: { id: 't', intent: 'i' },
        scope: { repositories: ['acme/api'], permissions: { contents: 'read' } },
        issuedAt: started,
        expiresAt: started + 60_000,
      }),
    ).rejects.toMatchObject({ code: 'provider_unavailable', retryable: true });
    await expect(
      provider.revoke({ token: `ghs_${'x'.repeat(36)}` }, 'lse_x'),
    ).rejects.toMatchObject({ code: 'provider_unavailable' });
  });
});
