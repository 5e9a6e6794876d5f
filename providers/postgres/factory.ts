import { defineProviderFactory } from '../lib/define-factory.js';
import { postgresTargetSchema } from './config.js';
import { createPostgresProvider, POSTGRES_KIND } from './create-provider.js';

export const postgresProviderFactory = defineProviderFactory(
  POSTGRES_KIND,
  postgresTargetSchema,
  (config) => createPostgresProvider(config),
);
