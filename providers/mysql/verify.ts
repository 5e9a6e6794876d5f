import type { RowDataPacket } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import type { RevocationProof } from '../provider.js';

/** Runs one admin query (errors come back scrubbed, as the provider's own `run` makes them). */
export type RunQuery = <T extends RowDataPacket[]>(action: string, sql: string) => Promise<T>;

/**
 * Whether the admin account itself holds `PROCESS` (granted to it directly): without it the
 * process list shows only the admin's own threads, and "no thread" would prove nothing.
 */
const ADMIN_SEES_ALL_THREADS = `SELECT COUNT(*) AS n FROM information_schema.USER_PRIVILEGES
  WHERE PRIVILEGE_TYPE = 'PROCESS'
    AND GRANTEE = CONCAT('''',
      SUBSTRING(CURRENT_USER(), 1,
        CHAR_LENGTH(CURRENT_USER()) - CHAR_LENGTH(SUBSTRING_INDEX(CURRENT_USER(), '@', -1)) - 1),
      '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')`;

/**
 * Proof that a lease's account is gone: no row in `mysql.user` for the user name (at any host)
 * and no thread of it in the process list, read by an admin that sees every thread.
 */
export async function verifyAccountGone(
  run: RunQuery,
  account: { user: string; host: string },
): Promise<RevocationProof> {
  const users = await run<RowDataPacket[]>(
    'verifying revocation (mysql.user)',
    mysql.format('SELECT COUNT(*) AS n FROM mysql.user WHERE User = ?', [account.user]),
  );
  const threads = await run<RowDataPacket[]>(
    'verifying revocation (processlist)',
    mysql.format('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?', [
      account.user,
    ]),
  );
  const seesAll = await run<RowDataPacket[]>(
    'verifying revocation (PROCESS privilege)',
    ADMIN_SEES_ALL_THREADS,
  );
  const accounts = Number(users[0]?.n ?? 0);
  const sessions = Number(threads[0]?.n ?? 0);
  const blind = Number(seesAll[0]?.n ?? 0) === 0;
  const evidence = `user ${account.user}: ${accounts} in mysql.user, ${sessions} thread(s) in the process list`;
  if (blind) {
    return {
      gone: false,
      evidence: `${evidence}, read without PROCESS: other accounts' threads are not visible`,
    };
  }
  return { gone: accounts === 0 && sessions === 0, evidence };
}
