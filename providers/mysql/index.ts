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
  NO_PROVIDER_EXPIRY,
} from './create-provider.js';
export { mysqlProviderFactory } from './factory.js';
export { leaseIdOfUser, nativePasswordHash, userNameFor } from './lib/account.js';
export { DATABASE_PRIVILEGES, type Grant, grantStatement, parseGrant } from './lib/grant.js';
export {
  type MysqlCeiling,
  type MysqlScope,
  mysqlCeilingSchema,
  mysqlScopeSchema,
  mysqlWithin,
} from './scope.js';
