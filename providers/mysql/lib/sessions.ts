import type { Pool, RowDataPacket } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import { mysqlFailure } from './errors.js';

/** `KILL` of a connection that ended by itself between listing and killing. */
const NO_SUCH_THREAD = 'ER_NO_SUCH_THREAD';

/**
 * Ends every session of these account names: one listing for all of them, then a `KILL` per
 * session, as many at once as the pool has connections. Run after `DROP USER`, which leaves
 * existing sessions running but lets no new one in.
 */
export async function killSessions(
  pool: Pool,
  users: readonly string[],
  target: string,
  secrets: readonly string[],
): Promise<void> {
  if (users.length === 0) return;
  let sessions: RowDataPacket[];
  try {
    [sessions] = await pool.query<RowDataPacket[]>(
      mysql.format('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER IN (?)', [
        [...users],
      ]),
    );
  } catch (err) {
    throw mysqlFailure(target, 'listing sessions', err, secrets);
  }
  await Promise.all(
    sessions.map(async (session) => {
      try {
        await pool.query(mysql.format('KILL CONNECTION ?', [Number(session.id)]));
      } catch (err) {
        if ((err as { code?: unknown }).code === NO_SUCH_THREAD) return;
        throw mysqlFailure(target, 'KILL', err, secrets);
      }
    }),
  );
}
