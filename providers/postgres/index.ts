export {
  type PostgresTargetConfig,
  postgresTargetSchema,
  ROLE_ACCESS,
  type RoleAccess,
} from './config.js';
export {
  createPostgresProvider,
  POSTGRES_KIND,
  type PostgresProvider,
} from './create-provider.js';
export { postgresProviderFactory } from './factory.js';
export { leaseIdOfLoginRole, loginRoleFor } from './lib/identifiers.js';
export { SCRAM_ITERATIONS, scramSha256Verifier } from './lib/scram.js';
export type { PostgresCredential } from './mint.js';
export {
  MAX_SCOPE_ROLES,
  type PostgresCeiling,
  type PostgresScope,
  postgresCeilingSchema,
  postgresScopeSchema,
  postgresWithin,
} from './scope.js';
