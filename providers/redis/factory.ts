import { defineProviderFactory } from '../lib/define-factory.js';
import { redisTargetSchema } from './config.js';
import { createRedisAclProvider } from './create-provider.js';

export const redisProviderFactory = defineProviderFactory(
  'redis',
  redisTargetSchema,
  createRedisAclProvider,
);
