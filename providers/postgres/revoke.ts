import pg from 'pg';
import { ProviderError, type RevocationHandle } from '../provider.js';
import { isUndefinedObject, toProviderError } from './lib/errors.js';
import { LEASE_SUFFIX_LENGTH, loginRoleFor, ROLE_NAME } from './lib/identifiers.js';
import type { PostgresTarget } from './lib/target.js';
import { terminateSessions } from './lib/terminate.js';

/**
 * The login role a lease's handle names. An empty handle (a mint that crashed before the
 * lease got one) derives it from the lease id. A handle's role must end with the lease's own
 * suffix, so a tampered or mixed-up handle can never name some other role to drop.
 */
export function loginRoleOf(
  target: PostgresTarget,
  handle: RevocationHandle,
  leaseId: string,
): string {
  const derived = (() => {
    try {
      return loginRoleFor(target.config.role_prefix, leaseId);
    } catch {
      throw new ProviderError('provider_rejected', 'not a lease id', false);
    }
  })();
  const named = handle.role;
  if (named === undefined) return derived;
  if (
    typeof named !== 'string' ||
    !ROLE_NAME.test(named) ||
    named.length <= LEASE_SUFFIX_LENGTH ||
    named.slice(-LEASE_SUFFIX_LENGTH) !== derived.slice(-LEASE_SUFFIX_LENGTH)
  ) {
    throw new ProviderError(
      'provider_rejected',
      'revocation handle does not belong to this lease',
      false,
    );
  }
  return named;
}

/**
 * Ends a login role, idempotently ("already gone" is success):
 * 1. `NOLOGIN`, so no new session starts while the rest runs;
 * 2. revoke its group memberships, so a session still alive loses the privileges at its next
 *    statement (privileges are checked per statement);
 * 3. terminate its sessions and wait for them to exit (`terminateSessions`);
 * 4. in every configured database, `REASSIGN OWNED` to `reassign_to` and `DROP OWNED`
 *    (objects it created survive under the owner role; grants made to it go);
 * 5. `DROP ROLE IF EXISTS`.
 */
export async function revokeLoginRole(target: PostgresTarget, role: string): Promise<void> {
  const { config, pools } = target;
  const admin = pools.admin();
  const ident = pg.escapeIdentifier(role);
  let step = 'look up role';
  try {
    const found = await admin.query<{ rolsuper: boolean }>(
      'SELECT rolsuper FROM pg_roles WHERE rolname = $1',
      [role],
    );
    const row = found.rows[0];
    if (row === undefined) return;
    if (row.rolsuper) {
      throw new ProviderError(
        'provider_rejected',
        `postgres target "${config.name}": refusing to drop a superuser`,
        false,
      );
    }

    step = 'disable login';
    await admin.query(`ALTER ROLE ${ident} NOLOGIN`);

    step = 'revoke memberships';
    const memberships = await admin.query<{ rolname: string }>(
      `SELECT g.rolname FROM pg_auth_members m
         JOIN pg_roles g ON g.oid = m.roleid
         JOIN pg_roles u ON u.oid = m.member
        WHERE u.rolname = $1`,
      [role],
    );
    for (const { rolname } of memberships.rows) {
      await admin.query(`REVOKE ${pg.escapeIdentifier(rolname)} FROM ${ident}`);
    }

    step = 'terminate sessions';
    await terminateSessions(admin, [role]);

    // REASSIGN/DROP OWNED need the privileges of the role being cleaned up.
    step = 'take membership for clean-up';
    await admin.query(`GRANT ${ident} TO CURRENT_USER`);

    for (const database of config.databases) {
      step = `reassign owned in "${database}"`;
      const pool = pools.database(database);
      await pool.query(`REASSIGN OWNED BY ${ident} TO ${pg.escapeIdentifier(config.reassign_to)}`);
      step = `drop owned in "${database}"`;
      await pool.query(`DROP OWNED BY ${ident}`);
    }

    step = 'drop role';
    await admin.query(`DROP ROLE IF EXISTS ${ident}`);
  } catch (err) {
    // Another reaper finished first: the role vanished between two steps.
    if (isUndefinedObject(err)) return;
    throw toProviderError(config.name, step, err, target.secrets);
  }
}
