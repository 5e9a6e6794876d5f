import { randomBytes } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunQuery, verifyAccountGone } from '../../providers/mysql/verify.js';
import { mysqlAvailable } from '../helpers/mariadb.js';
import { MYSQL_URL, requireService } from '../helpers/services.js';

/*
 * The MySQL/MariaDB revocation check against a session that outlives its account. `DROP USER`
 * leaves open connections running; only the process list shows them, and only to an admin
 * holding PROCESS. An admin without it sees no thread of anyone else: its "no thread" is no
 * proof.
 */

const up = await requireService('mariadb', await mysqlAvailable());
const run = randomBytes(3).toString('hex');
const LEASED = `jrv${run}_u`;
const BLIND_ADMIN = `jrv${run}_adm`;
const PASSWORD = `pw-${randomBytes(8).toString('hex')}`;

function runner(connection: Connection): RunQuery {
  return (async (_action: string, sql: string) => {
    const [rows] = await connection.query<RowDataPacket[]>(sql);
    return rows;
  }) as RunQuery;
}

/** A connection URL for a test account, to no database (it has grants on none). */
function as(user: string): string {
  const url = new URL(MYSQL_URL);
  url.username = user;
  url.password = PASSWORD;
  url.pathname = '/';
  return url.toString();
}

describe.skipIf(!up)('mysql revocation check against a live session', () => {
  let root: Connection;
  let blind: Connection;

  beforeAll(async () => {
    root = await mysql.createConnection({ uri: MYSQL_URL });
    for (const user of [LEASED, BLIND_ADMIN]) {
      await root.query(mysql.format("CREATE USER ?@'%' IDENTIFIED BY ?", [user, PASSWORD]));
    }
    // The documented admin grants, less PROCESS.
    await root.query(mysql.format("GRANT CREATE USER ON *.* TO ?@'%'", [BLIND_ADMIN]));
    await root.query(mysql.format("GRANT SELECT ON mysql.user TO ?@'%'", [BLIND_ADMIN]));
    blind = await mysql.createConnection({ uri: as(BLIND_ADMIN) });
  });
  afterAll(async () => {
    await blind?.end().catch(() => {});
    for (const user of [LEASED, BLIND_ADMIN]) {
      await root?.query(mysql.format("DROP USER IF EXISTS ?@'%'", [user])).catch(() => {});
    }
    await root?.end();
  });

  it('a dropped account whose session still runs is not gone, to an admin with or without PROCESS', async () => {
    const session = await mysql.createConnection({ uri: as(LEASED) });
    try {
      await root.query(mysql.format("DROP USER ?@'%'", [LEASED]));
      const [rows] = await session.query<RowDataPacket[]>('SELECT 1 AS n');
      expect(rows[0]?.n).toBe(1);

      const seen = await verifyAccountGone(runner(root), { user: LEASED, host: '%' });
      expect(seen.gone).toBe(false);
      expect(seen.evidence).toMatch(/0 in mysql\.user, 1 thread/);

      const unseen = await verifyAccountGone(runner(blind), { user: LEASED, host: '%' });
      expect(unseen.gone).toBe(false);
      expect(unseen.evidence).toMatch(/without PROCESS/);
    } finally {
      await session.end().catch(() => {});
    }
    // Session ended: an admin that sees every thread proves the account gone, a blind one never.
    let proof = await verifyAccountGone(runner(root), { user: LEASED, host: '%' });
    for (let i = 0; i < 50 && !proof.gone; i++) {
      await new Promise((r) => setTimeout(r, 20));
      proof = await verifyAccountGone(runner(root), { user: LEASED, host: '%' });
    }
    expect(proof.gone).toBe(true);
    const blindProof = await verifyAccountGone(runner(blind), { user: LEASED, host: '%' });
    expect(blindProof.gone).toBe(false);
  });
});
