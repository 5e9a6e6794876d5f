import { defineProviderFactory } from '../lib/define-factory.js';
import { mysqlTargetSchema } from './config.js';
import { createMysqlProvider } from './create-provider.js';

export const mysqlProviderFactory = defineProviderFactory(
  'mysql',
  mysqlTargetSchema,
  createMysqlProvider,
);
