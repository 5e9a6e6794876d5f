import { defineProviderFactory } from '../lib/define-factory.js';
import { awsTargetSchema } from './config.js';
import { AWS_KIND, createAwsProvider } from './create-provider.js';

export const awsProviderFactory = defineProviderFactory(AWS_KIND, awsTargetSchema, (config, ctx) =>
  createAwsProvider(config, ctx),
);
