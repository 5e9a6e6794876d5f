import { describe, expect, it } from 'vitest';
import type { GithubTargetConfig } from '../../../providers/github/config.js';
import { githubProviderFactory } from '../../../providers/github/index.js';
import { verifyInstallationTokenGone } from '../../../providers/github/verify.js';

const config = githubProviderFactory.config.parse({
  name: 'github-acme',
  provider: 'github',
  app_id: '123456',
  installation_id: 987654,
  private_key: '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n',
}) as unknown as GithubTargetConfig;

describe('verifyInstallationTokenGone', () => {
  it('a lease holding no token is not proven gone: a token issued to a mint that never returned may still work', async () => {
    const proof = await verifyInstallationTokenGone(config, {});
    expect(proof.gone).toBe(false);
    expect(proof.evidence).toMatch(/no token/);
  });
});
