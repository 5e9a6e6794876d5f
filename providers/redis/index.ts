export { NO_PROVIDER_EXPIRY } from '../lib/account-provider.js';
export { leaseIdOfUser, userNameFor } from '../lib/lease-account.js';
export { type RedisEndpoint, type RedisTargetConfig, redisTargetSchema } from './config.js';
export {
  createRedisAclProvider,
  type RedisAclProvider,
  type RedisCredential,
} from './create-provider.js';
export { redisProviderFactory } from './factory.js';
export { passwordHashRule } from './lib/account.js';
export { ALWAYS_DENIED, aclRules } from './lib/acl-rules.js';
export { canonicalHost, sameEndpoint } from './lib/endpoint.js';
export {
  REDIS_CATEGORIES,
  type RedisCategory,
  type RedisCeiling,
  type RedisScope,
  redisCeilingSchema,
  redisScopeSchema,
  redisWithin,
} from './scope.js';
