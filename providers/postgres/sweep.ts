import { ProviderError } from '../provider.js';
import { toProviderError } from './lib/errors.js';
import { leaseIdOfLoginRole } from './lib/identifiers.js';
import type { PostgresTarget } from './lib/target.js';
import { COMMENT_PATTERN } from './mint.js';
import { revokeLoginRole } from './revoke.js';

interface Candidate {
  role: string;
  leaseId: string;
}

/**
 * Drops login roles under the broker's prefix whose lease is not live. Only roles the broker
 * demonstrably made are touched: the name maps to a lease id and the role's comment (written
 * in the same transaction as the role) names that lease and a creation time older than the
 * grace period, measured on the server's clock at both ends.
 */
export async function sweepLoginRoles(
  target: PostgresTarget,
  isLive: (leaseId: string) => Promise<boolean>,
  graceMs: number,
): Promise<number> {
  const { config } = target;
  let rows: { rolname: string; comment: string | null; now: Date }[];
  try {
    const result = await target.pools.admin().query<{
      rolname: string;
      comment: string | null;
      now: Date;
    }>(
      `SELECT rolname, shobj_description(oid, 'pg_authid') AS comment, now() AS now
         FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY rolname`,
      [config.role_prefix],
    );
    rows = result.rows;
  } catch (err) {
    throw toProviderError(config.name, 'list roles', err, target.secrets);
  }

  const candidates: Candidate[] = [];
  for (const row of rows) {
    const leaseId = leaseIdOfLoginRole(config.role_prefix, row.rolname);
    const marked = row.comment === null ? null : COMMENT_PATTERN.exec(row.comment);
    if (leaseId === null || marked === null || marked[1] !== leaseId) continue;
    const createdAt = Date.parse(marked[2] ?? '');
    if (Number.isNaN(createdAt) || row.now.getTime() - createdAt < graceMs) continue;
    if (await isLive(leaseId)) continue;
    candidates.push({ role: row.rolname, leaseId });
  }

  let removed = 0;
  const failures: ProviderError[] = [];
  await forEachLimited(candidates, config.revoke_concurrency, async ({ role }) => {
    try {
      await revokeLoginRole(target, role);
      removed += 1;
    } catch (err) {
      failures.push(toProviderError(config.name, 'sweep', err, target.secrets));
    }
  });
  const [first] = failures;
  if (first !== undefined) {
    throw new ProviderError(
      first.code,
      `postgres target "${config.name}": sweep removed ${removed} role(s), ${failures.length} failed; first: ${first.message}`,
      first.retryable,
    );
  }
  return removed;
}

async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await run(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
