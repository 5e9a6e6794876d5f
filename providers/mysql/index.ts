export { NO_PROVIDER_EXPIRY } from '../lib/account-provider.js';
export { leaseIdOfUser, userNameFor } from '../lib/lease-account.js';
export {
  MYSQL_FLAVORS,
  type MysqlFlavor,
  type MysqlTargetConfig,
  mysqlTargetSchema,
} from './config.js';
export {
  createMysqlProvider,
  type MysqlCredential,
  type MysqlProvider,
} from './create-provider.js';
export { mysqlProviderFactory } from './factory.js';
export { nativePasswordHash } from './lib/account.js';
export { DATABASE_PRIVILEGES, type Grant, grantStatement, parseGrant } from './lib/grant.js';
export {
  type MysqlCeiling,
  type MysqlScope,
  mysqlCeilingSchema,
  mysqlScopeSchema,
  mysqlWithin,
} from './scope.js';
