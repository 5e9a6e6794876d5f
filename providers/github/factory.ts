import { defineProviderFactory } from '../lib/define-factory.js';
import type { ProviderFactory } from '../provider.js';
import { githubTargetSchema } from './config.js';
import { createGithubProvider } from './create-provider.js';

export const githubProviderFactory: ProviderFactory = {
  ...defineProviderFactory('github', githubTargetSchema, (config) => createGithubProvider(config)),
  // GitHub signs App JWTs with RS256 only.
  privateKey: { algorithm: 'RS256', keyType: 'rsa', describe: 'a GitHub App key' },
};
