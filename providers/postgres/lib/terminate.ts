import type pg from 'pg';

/** How long revocation waits for the terminated sessions to exit. */
export const TERMINATE_WAIT_MS = 5_000;
const RECHECK_MS = 10;

/**
 * Ends every session of `roles` and waits until none is left (at most `TERMINATE_WAIT_MS`).
 * Each round signals whatever sessions are still listed, so one that was starting while the
 * role lost `LOGIN` is ended too. `pg_terminate_backend(pid, timeout)` is not used: it waits
 * for one session at a time, sleeping 100 ms between checks, so ending fifty sessions took
 * five seconds; here they are all signalled at once and checked every 10 ms.
 */
export async function terminateSessions(pool: pg.Pool, roles: readonly string[]): Promise<void> {
  const deadline = Date.now() + TERMINATE_WAIT_MS;
  for (;;) {
    const { rowCount } = await pool.query(
      `SELECT pg_terminate_backend(a.pid)
         FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid
        WHERE r.rolname = ANY($1::text[])`,
      [roles],
    );
    if (!rowCount || Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, RECHECK_MS));
  }
}
