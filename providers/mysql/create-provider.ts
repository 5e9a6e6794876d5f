import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import { scrubSecrets } from '../../src/lib/scrub-secrets.js';
import { type AccountProvider, NO_PROVIDER_EXPIRY } from '../lib/account-provider.js';
import { leaseIdOfUser, userNameFor } from '../lib/lease-account.js';
import { OrphanClock } from '../lib/orphan-clock.js';
import { sweepOrphans } from '../lib/sweep-orphans.js';
import {
  type Minted,
  type MintRequest,
  type ProviderContext,
  ProviderError,
  type ProviderKind,
  type RenewResult,
  type RevocationHandle,
} from '../provider.js';
import type { MysqlTargetConfig } from './config.js';
import { isAccountOfLease, nativePasswordHash, newPassword } from './lib/account.js';
import { mysqlFailure, urlSecrets } from './lib/errors.js';
import { type Grant, grantStatement, parseGrant } from './lib/grant.js';
import { killSessions } from './lib/sessions.js';
import {
  type MysqlCeiling,
  type MysqlScope,
  mysqlCeilingSchema,
  mysqlScopeSchema,
  mysqlWithin,
} from './scope.js';
import { suggestMysqlCeiling } from './suggest.js';
import { verifyAccountGone } from './verify.js';

export interface MysqlCredential {
  username: string;
  password: string;
  host: string;
  port: number;
  database: string;
  /** ISO 8601: the broker's deadline. The account itself never expires (see `NO_PROVIDER_EXPIRY`). */
  expires_at: string;
}

export type MysqlProvider = AccountProvider<MysqlScope, MysqlCeiling, MysqlCredential>;

/**
 * Accounts per `DROP USER` of a bulk revocation. The server holds its privilege lock for the
 * whole statement, about 1.2 ms per account with a thousand accounts on it, and other
 * clients' privilege checks wait meanwhile: 20 keeps each hold near 25 ms (100 made the
 * other clients' p99 four times worse for a kill switch only twice as fast).
 */
const REVOKE_BATCH_SIZE = 20;
const ACCOUNT_HOST = /^[A-Za-z0-9.%_:/-]{1,255}$/;

interface Account {
  user: string;
  host: string;
}

const KIND = 'mysql' satisfies ProviderKind;

export function createMysqlProvider(
  config: MysqlTargetConfig,
  _ctx: ProviderContext,
): MysqlProvider {
  const target = config.name;
  const adminSecrets = urlSecrets(config.admin_url);
  const sets = new Map<string, Grant[]>(
    Object.entries(config.privilege_sets).map(([name, set]) => [
      name,
      set.grants.map((text) => {
        const parsed = parseGrant(text);
        if (!parsed.ok) throw new TypeError(`mysql target "${target}": ${parsed.reason}`);
        return parsed.grant;
      }),
    ]),
  );
  const pool: Pool = mysql.createPool({
    uri: config.admin_url,
    // Revocations run `revoke_concurrency` at a time; a couple more keep mints moving.
    connectionLimit: config.revoke_concurrency + 2,
    connectTimeout: 5_000,
    multipleStatements: false,
  });
  const orphans = new OrphanClock();
  let wildcardEscape: Promise<boolean> | undefined;

  async function run<T extends RowDataPacket[]>(
    action: string,
    sql: string,
    on: Pool | PoolConnection = pool,
    secrets: readonly string[] = adminSecrets,
  ): Promise<T> {
    try {
      const [rows] = await on.query<T>(sql);
      return rows;
    } catch (err) {
      throw mysqlFailure(target, action, err, secrets);
    }
  }

  /**
   * Whether `_` in database-level grants must be escaped. MySQL with `partial_revokes=ON`
   * reads those names literally; MariaDB and other MySQL setups read them as patterns.
   */
  function escapeWildcards(): Promise<boolean> {
    wildcardEscape ??= run<RowDataPacket[]>(
      'reading partial_revokes',
      "SHOW GLOBAL VARIABLES LIKE 'partial_revokes'",
    ).then(
      (rows) => String(rows[0]?.Value ?? 'OFF').toUpperCase() !== 'ON',
      (err: unknown) => {
        wildcardEscape = undefined;
        throw err;
      },
    );
    return wildcardEscape;
  }

  function createUserStatement(account: Account, password: string): string {
    // MariaDB takes the native hash, so the password never appears in any server log; MySQL 8
    // rewrites `IDENTIFIED BY` in its logs and hashes with its default plugin.
    return config.flavor === 'mariadb'
      ? mysql.format('CREATE USER ?@? IDENTIFIED BY PASSWORD ? WITH MAX_USER_CONNECTIONS ?', [
          account.user,
          account.host,
          nativePasswordHash(password),
          config.max_connections,
        ])
      : mysql.format('CREATE USER ?@? IDENTIFIED BY ? WITH MAX_USER_CONNECTIONS ?', [
          account.user,
          account.host,
          password,
          config.max_connections,
        ]);
  }

  /** Best-effort removal after a failed mint; the lease's own revocation retries it. */
  async function dropQuietly(account: Account, on: Pool | PoolConnection): Promise<boolean> {
    try {
      await on.query(mysql.format('DROP USER IF EXISTS ?@?', [account.user, account.host]));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Drop first, so no new login can start; then end the sessions that already exist, which
   * `DROP USER` leaves running.
   */
  async function removeAccount(account: Account): Promise<void> {
    await run('DROP USER', mysql.format('DROP USER IF EXISTS ?@?', [account.user, account.host]));
    await killSessions(pool, [account.user], target, adminSecrets);
  }

  /**
   * `removeAccount` for many at once: one `DROP USER` naming them all (the server rebuilds its
   * privilege caches once per statement, not once per account), one listing of their sessions.
   */
  async function removeAccounts(accounts: readonly Account[]): Promise<void> {
    const list = accounts.map((a) => mysql.format('?@?', [a.user, a.host])).join(', ');
    await run('DROP USER', `DROP USER IF EXISTS ${list}`);
    await killSessions(pool, [...new Set(accounts.map((a) => a.user))], target, adminSecrets);
  }

  function accountOf(handle: RevocationHandle, leaseId: string): Account {
    const user = handle.user === undefined ? userNameFor(config.user_prefix, leaseId) : handle.user;
    const host = handle.host === undefined ? config.user_host : handle.host;
    if (
      typeof user !== 'string' ||
      !isAccountOfLease(user, leaseId) ||
      typeof host !== 'string' ||
      !ACCOUNT_HOST.test(host)
    ) {
      throw new ProviderError(
        'provider_rejected',
        `mysql target "${target}": the handle does not name this lease's account`,
        false,
      );
    }
    return { user, host };
  }

  return {
    kind: KIND,
    target,
    scope: mysqlScopeSchema,
    ceiling: mysqlCeilingSchema,
    revokeConcurrency: config.revoke_concurrency,
    within: mysqlWithin(new Set(sets.keys())),
    suggestCeiling: suggestMysqlCeiling,

    async mint(req: MintRequest<MysqlScope>): Promise<Minted<MysqlCredential>> {
      const { scope } = req;
      const grants: Grant[] = [];
      for (const name of scope.privilege_sets) {
        const set = sets.get(name);
        if (set === undefined) {
          throw new ProviderError(
            'invalid_scope',
            `privilege set "${name}" is not configured`,
            false,
          );
        }
        grants.push(...set);
      }
      const account = {
        user: userNameFor(config.user_prefix, req.leaseId),
        host: config.user_host,
      };
      const password = newPassword();
      const secrets = [...adminSecrets, password, nativePasswordHash(password)];
      const escapeUnderscores = await escapeWildcards();

      let connection: PoolConnection;
      try {
        connection = await pool.getConnection();
      } catch (err) {
        throw mysqlFailure(target, 'connecting', err, secrets);
      }
      try {
        try {
          await run('CREATE USER', createUserStatement(account, password), connection, secrets);
        } catch (err) {
          // A lost connection leaves it unknown whether the account exists.
          if (err instanceof ProviderError && err.code === 'provider_unavailable') {
            await dropQuietly(account, pool);
          }
          throw err;
        }
        try {
          for (const grant of grants) {
            await run(
              'GRANT',
              grantStatement(grant, account, escapeUnderscores),
              connection,
              secrets,
            );
          }
        } catch (err) {
          const dropped =
            (await dropQuietly(account, connection)) || (await dropQuietly(account, pool));
          if (dropped || !(err instanceof ProviderError)) throw err;
          throw new ProviderError(
            err.code,
            `${err.message}; the account could not be dropped yet (the lease's revocation will)`,
            err.retryable,
          );
        }
      } finally {
        connection.release();
      }

      return {
        credential: {
          username: account.user,
          password,
          host: config.connect.host,
          port: config.connect.port,
          database: config.connect.database,
          expires_at: new Date(req.expiresAt).toISOString(),
        },
        handle: { user: account.user, host: account.host },
        providerExpiresAt: NO_PROVIDER_EXPIRY,
      };
    },

    async revoke(handle: RevocationHandle, leaseId: string): Promise<void> {
      await removeAccount(accountOf(handle, leaseId));
    },

    revokeBatchSize: REVOKE_BATCH_SIZE,
    async revokeMany(items) {
      const left: string[] = [];
      const accounts: Account[] = [];
      for (const { handle, leaseId } of items) {
        try {
          accounts.push(accountOf(handle, leaseId));
        } catch {
          left.push(leaseId);
        }
      }
      if (accounts.length > 0) await removeAccounts(accounts);
      return left;
    },

    verifyRevoked: (handle, leaseId) => verifyAccountGone(run, accountOf(handle, leaseId)),

    // Accounts have no expiry to move: renewal extends only the broker's own deadline.
    async renew(): Promise<RenewResult<MysqlCredential>> {
      return {};
    },

    async sweep(isLive, graceMs): Promise<number> {
      const prefix = config.user_prefix;
      const rows = await run<RowDataPacket[]>(
        'listing accounts',
        mysql.format('SELECT User AS user, Host AS host FROM mysql.user WHERE LEFT(User, ?) = ?', [
          prefix.length,
          prefix,
        ]),
      );
      const candidates = rows.flatMap((row) => {
        const account = { user: String(row.user), host: String(row.host) };
        const leaseId = leaseIdOfUser(prefix, account.user);
        if (leaseId === undefined || !ACCOUNT_HOST.test(account.host)) return [];
        return [{ key: `${account.user}@${account.host}`, leaseId, account }];
      });
      return sweepOrphans(orphans, candidates, isLive, graceMs, ({ account }) =>
        removeAccount(account),
      );
    },

    async check() {
      try {
        await pool.query('SELECT 1');
        return { ok: true };
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        return {
          ok: false,
          detail: scrubSecrets(`mysql target "${target}": ${message}`, adminSecrets),
        };
      }
    },

    async close() {
      await pool.end();
    },
  };
}
