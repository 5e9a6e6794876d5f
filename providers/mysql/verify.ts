import type { RowDataPacket } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import type { RevocationProof } from '../provider.js';

/** Runs one admin query (errors come back scrubbed, as the provider's own `run` makes them). */
export type RunQuery = <T extends RowDataPacket[]>(action: string, sql: string) => Promise<T>;

/**
 * Proof that a lease's account is gone: no row in `mysql.user` for the user name (at any host)
 * and no thread of it in the process list.
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
  const accounts = Number(users[0]?.n ?? 0);
  const sessions = Number(threads[0]?.n ?? 0);
  return {
    gone: accounts === 0 && sessions === 0,
    evidence: `user ${account.user}: ${accounts} in mysql.user, ${sessions} thread(s) in the process list`,
  };
}
