import { defineProviderFactory } from '../lib/define-factory.js';
import { githubTargetSchema } from './config.js';
import { createGithubProvider } from './create-provider.js';

export const githubProviderFactory = defineProviderFactory('github', githubTargetSchema, (config) =>
  createGithubProvider(config),
);
