import type { RevocationProof } from '../provider.js';
import { toProviderError } from './lib/errors.js';
import type { PostgresTarget } from './lib/target.js';

/**
 * Proof that a lease's login role is gone: no row in `pg_roles`, no session left in
 * `pg_stat_activity` under its name, and no session of a dropped role at all. A session
 * outlives `DROP ROLE` and keeps working, but `pg_stat_activity` then shows it with no
 * `usename` (only the dropped role's oid, which nothing here knows any more): such a session
 * may be this lease's, so while one exists the revocation is not verified.
 */
export async function verifyLoginRoleGone(
  target: PostgresTarget,
  role: string,
): Promise<RevocationProof> {
  try {
    const { rows } = await target.pools
      .admin()
      .query<{ roles: string; sessions: string; orphans: string }>(
        `SELECT (SELECT count(*) FROM pg_roles WHERE rolname = $1) AS roles,
                (SELECT count(*) FROM pg_stat_activity WHERE usename = $1) AS sessions,
                (SELECT count(*) FROM pg_stat_activity
                  WHERE usesysid IS NOT NULL AND usename IS NULL) AS orphans`,
        [role],
      );
    const roles = Number(rows[0]?.roles ?? 0);
    const sessions = Number(rows[0]?.sessions ?? 0);
    const orphans = Number(rows[0]?.orphans ?? 0);
    const evidence =
      `role ${role}: ${roles} in pg_roles, ${sessions} session(s) in pg_stat_activity, ` +
      `${orphans} session(s) of dropped roles`;
    return { gone: roles === 0 && sessions === 0 && orphans === 0, evidence };
  } catch (err) {
    throw toProviderError(target.config.name, 'verify revocation', err, target.secrets);
  }
}
