import type { RevocationProof } from '../provider.js';
import { toProviderError } from './lib/errors.js';
import type { PostgresTarget } from './lib/target.js';

/**
 * Proof that a lease's login role is gone: no row in `pg_roles`, and no session left in
 * `pg_stat_activity` under its name (a dropped role's session keeps its `usename`).
 */
export async function verifyLoginRoleGone(
  target: PostgresTarget,
  role: string,
): Promise<RevocationProof> {
  try {
    const { rows } = await target.pools.admin().query<{ roles: string; sessions: string }>(
      `SELECT (SELECT count(*) FROM pg_roles WHERE rolname = $1) AS roles,
              (SELECT count(*) FROM pg_stat_activity WHERE usename = $1) AS sessions`,
      [role],
    );
    const roles = Number(rows[0]?.roles ?? 0);
    const sessions = Number(rows[0]?.sessions ?? 0);
    const evidence = `role ${role}: ${roles} in pg_roles, ${sessions} session(s) in pg_stat_activity`;
    return { gone: roles === 0 && sessions === 0, evidence };
  } catch (err) {
    throw toProviderError(target.config.name, 'verify revocation', err, target.secrets);
  }
}
