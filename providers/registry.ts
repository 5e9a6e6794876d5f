import { awsProviderFactory } from './aws/index.js';
import { githubProviderFactory } from './github/index.js';
import { jwtProviderFactory } from './jwt/index.js';
import { moduleProviderFactory } from './module/index.js';
import { mysqlProviderFactory } from './mysql/index.js';
import { postgresProviderFactory } from './postgres/index.js';
import type { ProviderFactory, ProviderKind } from './provider.js';
import { redisProviderFactory } from './redis/index.js';

/** One factory per kind: adding a kind to `PROVIDER_KINDS` fails to compile until it is here. */
export const providerFactories: Record<ProviderKind, ProviderFactory> = {
  jwt: jwtProviderFactory,
  github: githubProviderFactory,
  postgres: postgresProviderFactory,
  mysql: mysqlProviderFactory,
  redis: redisProviderFactory,
  aws: awsProviderFactory,
  module: moduleProviderFactory,
};
