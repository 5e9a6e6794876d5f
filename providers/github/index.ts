export { type GithubTargetConfig, githubTargetSchema } from './config.js';
export {
  createGithubProvider,
  type GithubCredential,
  type GithubProvider,
} from './create-provider.js';
export { githubProviderFactory } from './factory.js';
export {
  GITHUB_LEVELS,
  type GithubCeiling,
  type GithubLevel,
  type GithubScope,
  githubCeilingSchema,
  githubScopeSchema,
  githubTierAllows,
  githubWithin,
  WRITE_TIER_WRITABLE,
} from './scope.js';
