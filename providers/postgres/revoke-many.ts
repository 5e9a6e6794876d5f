import pg from 'pg';
import type { RevocationHandle } from '../provider.js';
import { toProviderError } from './lib/errors.js';
import type { PostgresTarget } from './lib/target.js';
import { terminateSessions } from './lib/terminate.js';
import { loginRoleOf } from './revoke.js';

/** Login roles per batch: each statement names them all. */
export const REVOKE_BATCH_SIZE = 100;

interface Found {
  rolname: string;
  rolsuper: boolean;
  groups: string[];
}

/**
 * `revokeLoginRole` for many leases at once, in a handful of round trips whatever their
 * number: one look-up; `NOLOGIN`, the group memberships revoked and the admin made a member
 * (for the clean-up) in one transaction; every session of them terminated in one statement;
 * `REASSIGN OWNED` and `DROP OWNED` in each database; one `DROP ROLE`. The steps and their
 * order are those of the single revocation.
 *
 * Answers the lease ids left undone: a handle that does not belong to its lease, a
 * superuser. A failed statement throws, and the revoker takes every lease of the batch
 * through `revokeLoginRole`, which picks up wherever this stopped.
 */
export async function revokeLoginRoles(
  target: PostgresTarget,
  items: readonly { handle: RevocationHandle; leaseId: string }[],
): Promise<string[]> {
  const { config, pools } = target;
  const left: string[] = [];
  const leaseOf = new Map<string, string>();
  for (const { handle, leaseId } of items) {
    try {
      leaseOf.set(loginRoleOf(target, handle, leaseId), leaseId);
    } catch {
      left.push(leaseId);
    }
  }
  if (leaseOf.size === 0) return left;

  const admin = pools.admin();
  let step = 'look up roles';
  try {
    const { rows } = await admin.query<Found>(
      `SELECT r.rolname, r.rolsuper,
              ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                     WHERE m.member = r.oid) AS groups
         FROM pg_roles r WHERE r.rolname = ANY($1::text[])`,
      [[...leaseOf.keys()]],
    );
    const roles: string[] = [];
    const members = new Map<string, string[]>();
    for (const row of rows) {
      if (row.rolsuper) {
        // The single revocation refuses it, with the error that says why.
        left.push(leaseOf.get(row.rolname) as string);
        continue;
      }
      roles.push(row.rolname);
      for (const group of row.groups) {
        const list = members.get(group);
        if (list === undefined) members.set(group, [row.rolname]);
        else list.push(row.rolname);
      }
    }
    // Roles already gone are done: revocation is idempotent.
    if (roles.length === 0) return left;
    const idents = roles.map((role) => pg.escapeIdentifier(role)).join(', ');

    step = 'disable login and revoke memberships';
    // One simple-protocol query: its statements run in one implicit transaction.
    await admin.query(
      [
        ...roles.map((role) => `ALTER ROLE ${pg.escapeIdentifier(role)} NOLOGIN`),
        ...[...members].map(
          ([group, list]) =>
            `REVOKE ${pg.escapeIdentifier(group)} FROM ${list.map((r) => pg.escapeIdentifier(r)).join(', ')}`,
        ),
        // REASSIGN/DROP OWNED need the privileges of the roles being cleaned up.
        `GRANT ${idents} TO CURRENT_USER`,
      ].join(';\n'),
    );

    step = 'terminate sessions';
    await terminateSessions(admin, roles);

    for (const database of config.databases) {
      step = `reassign and drop owned in "${database}"`;
      await pools
        .database(database)
        .query(
          `REASSIGN OWNED BY ${idents} TO ${pg.escapeIdentifier(config.reassign_to)};\nDROP OWNED BY ${idents}`,
        );
    }

    step = 'drop roles';
    await admin.query(`DROP ROLE IF EXISTS ${idents}`);
    return left;
  } catch (err) {
    throw toProviderError(config.name, `batch revocation: ${step}`, err, target.secrets);
  }
}
