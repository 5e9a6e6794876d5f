import type { AccountProvider } from '../lib/account-provider.js';
import { type Health, ProviderError, type ProviderKind } from '../provider.js';
import type { PostgresTargetConfig } from './config.js';
import { toProviderError } from './lib/errors.js';
import { AdminPools } from './lib/pools.js';
import type { PostgresTarget } from './lib/target.js';
import { mintLoginRole, type PostgresCredential } from './mint.js';
import { renewLoginRole } from './renew.js';
import { loginRoleOf, revokeLoginRole } from './revoke.js';
import { REVOKE_BATCH_SIZE, revokeLoginRoles } from './revoke-many.js';
import {
  type PostgresCeiling,
  type PostgresScope,
  postgresCeilingSchema,
  postgresScopeSchema,
  postgresWithin,
} from './scope.js';
import { suggestPostgresCeiling } from './suggest.js';
import { sweepLoginRoles } from './sweep.js';
import { verifyLoginRoleGone } from './verify.js';

export const POSTGRES_KIND = 'postgres' satisfies ProviderKind;

export type PostgresProvider = AccountProvider<PostgresScope, PostgresCeiling, PostgresCredential>;

export function createPostgresProvider(config: PostgresTargetConfig): PostgresProvider {
  const admin = new URL(config.admin_url);
  const target: PostgresTarget = {
    config,
    pools: new AdminPools(config.admin_url),
    secrets: [config.admin_url, decodeURIComponent(admin.password), admin.password].filter(
      (secret) => secret.length > 0,
    ),
  };
  const within = postgresWithin(new Set(Object.keys(config.roles)));

  return {
    kind: POSTGRES_KIND,
    target: config.name,
    scope: postgresScopeSchema,
    ceiling: postgresCeilingSchema,
    revokeConcurrency: config.revoke_concurrency,
    within,
    suggestCeiling: suggestPostgresCeiling,
    tierAllows(scope, tier) {
      if (tier !== 'read') return { ok: true };
      const writer = scope.roles.find((role) => config.roles[role]?.access === 'write');
      return writer === undefined
        ? { ok: true }
        : {
            ok: false,
            reason: `group role ${writer} grants write access; workload tier read may not hold it`,
          };
    },

    async mint(req) {
      const { scope } = req;
      const unconfigured = scope.roles.find((role) => !(role in config.roles));
      if (unconfigured !== undefined) {
        throw new ProviderError(
          'invalid_scope',
          `role "${unconfigured}" is not configured on the target`,
          false,
        );
      }
      return mintLoginRole(target, req, scope);
    },

    async revoke(handle, leaseId) {
      await revokeLoginRole(target, loginRoleOf(target, handle, leaseId));
    },

    revokeBatchSize: REVOKE_BATCH_SIZE,
    revokeMany: (items) => revokeLoginRoles(target, items),

    verifyRevoked: (handle, leaseId) =>
      verifyLoginRoleGone(target, loginRoleOf(target, handle, leaseId)),

    async renew(handle, { leaseId, expiresAt }) {
      await renewLoginRole(target, loginRoleOf(target, handle, leaseId), expiresAt);
      return {};
    },

    sweep: (isLive, graceMs) => sweepLoginRoles(target, isLive, graceMs),

    async check(): Promise<Health> {
      try {
        await target.pools.admin().query('SELECT 1');
        return { ok: true };
      } catch (err) {
        return {
          ok: false,
          detail: toProviderError(config.name, 'check', err, target.secrets).message,
        };
      }
    },

    close: () => target.pools.close(),
  };
}
