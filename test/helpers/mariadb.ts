import type { Connection, RowDataPacket } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import type { MysqlCredential } from '../../providers/mysql/index.js';
import { MYSQL_URL } from './services.js';

/*
 * Set-up and inspection for suites that run the mysql provider against the machine's MariaDB.
 */

export async function mysqlAvailable(): Promise<boolean> {
  try {
    const probe = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 1500 });
    await probe.end();
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates the broker's admin account with exactly the MariaDB grants of
 * docs/providers/mysql.md: `tablePrivileges` (with GRANT OPTION) on `database`.
 */
export async function createBrokerAdmin(
  root: Connection,
  admin: { user: string; password: string },
  database: string,
  tablePrivileges: string,
): Promise<void> {
  await root.query(
    mysql.format('CREATE USER ?@? IDENTIFIED BY ?', [admin.user, '%', admin.password]),
  );
  await root.query(
    mysql.format('GRANT CREATE USER, PROCESS, CONNECTION ADMIN ON *.* TO ?@?', [admin.user, '%']),
  );
  await root.query(
    mysql.format('GRANT SELECT (User, Host) ON mysql.user TO ?@?', [admin.user, '%']),
  );
  await root.query(
    mysql.format(
      `GRANT ${tablePrivileges} ON ${mysql.escapeId(database.replace(/_/g, '\\_'))}.* TO ?@? WITH GRANT OPTION`,
      [admin.user, '%'],
    ),
  );
}

/** Drops every account under `prefix` and the admin account (suite clean-up). */
export async function dropAccounts(root: Connection, prefix: string, adminUser: string) {
  const [accounts] = await root.query<RowDataPacket[]>(
    'SELECT User AS user, Host AS host FROM mysql.user WHERE LEFT(User, ?) = ? OR User = ?',
    [prefix.length, prefix, adminUser],
  );
  for (const account of accounts) {
    await root.query('DROP USER IF EXISTS ?@?', [account.user, account.host]);
  }
}

export async function mysqlAccountExists(root: Connection, user: string): Promise<boolean> {
  const [rows] = await root.query<RowDataPacket[]>('SELECT 1 FROM mysql.user WHERE User = ?', [
    user,
  ]);
  return rows.length > 0;
}

/** Logs in with a minted credential; the connection joins `opened` for the suite's clean-up. */
export async function loginMysql(
  credential: MysqlCredential,
  opened: Connection[],
  password = credential.password,
): Promise<Connection> {
  const connection = await mysql.createConnection({
    host: credential.host,
    port: credential.port,
    user: credential.username,
    password,
    database: credential.database,
    connectTimeout: 3000,
  });
  // A killed session reports through its next query; the event itself would be unhandled.
  connection.on('error', () => {});
  opened.push(connection);
  return connection;
}
