import mysql from 'mysql2/promise';

/**
 * Privileges a privilege set may grant. Global and administrative privileges (`ALL`,
 * `GRANT OPTION`, `SUPER`, `FILE`, `PROCESS`, `CREATE USER`, …) are absent on purpose: a
 * leased login must never be able to reach beyond its database or hand its rights on.
 */
export const DATABASE_PRIVILEGES = [
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'CREATE',
  'DROP',
  'INDEX',
  'ALTER',
  'REFERENCES',
  'TRIGGER',
  'CREATE VIEW',
  'SHOW VIEW',
  'CREATE TEMPORARY TABLES',
  'LOCK TABLES',
  'EXECUTE',
  'CREATE ROUTINE',
  'ALTER ROUTINE',
  'EVENT',
] as const;
export type DatabasePrivilege = (typeof DATABASE_PRIVILEGES)[number];

/** The subset the server accepts on a single table (`ON db.table`). */
const TABLE_PRIVILEGES: ReadonlySet<DatabasePrivilege> = new Set<DatabasePrivilege>([
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'CREATE',
  'DROP',
  'INDEX',
  'ALTER',
  'REFERENCES',
  'TRIGGER',
  'CREATE VIEW',
  'SHOW VIEW',
]);

/** Schemas holding credentials and server state: no privilege set may name them. */
const SYSTEM_SCHEMAS = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

const IDENTIFIER = '[A-Za-z0-9_]{1,64}';
// Longest names first, so `CREATE VIEW` is not read as `CREATE` followed by junk.
const PRIVILEGE = [...DATABASE_PRIVILEGES]
  .sort((a, b) => b.length - a.length)
  .map((name) => name.replace(/ /g, '\\s+'))
  .join('|');

/**
 * `SELECT, INSERT ON app.*` or `SELECT ON app.orders`: privileges from the allowlist, then one
 * database (never `*`) and one table or `*`. Nothing else — no column lists, no `WITH`, no
 * quoting — so the text can never carry SQL of its own.
 */
export const GRANT_PATTERN = new RegExp(
  `^\\s*((?:${PRIVILEGE})(?:\\s*,\\s*(?:${PRIVILEGE}))*)\\s+ON\\s+(${IDENTIFIER})\\.(${IDENTIFIER}|\\*)\\s*$`,
  'i',
);

export interface Grant {
  privileges: DatabasePrivilege[];
  database: string;
  /** A table name, or `*` for every table of the database. */
  table: string;
}

export type GrantParse = { ok: true; grant: Grant } | { ok: false; reason: string };

export function parseGrant(text: string): GrantParse {
  const match = GRANT_PATTERN.exec(text);
  if (match === null) {
    return {
      ok: false,
      reason:
        'expected "<PRIVILEGE>[, <PRIVILEGE>…] ON <database>.<table or *>" from the allowlist',
    };
  }
  const [, list = '', database = '', table = ''] = match;
  if (SYSTEM_SCHEMAS.has(database.toLowerCase())) {
    return { ok: false, reason: `database "${database}" is a system schema` };
  }
  const privileges = [
    ...new Set(list.split(',').map((part) => part.trim().toUpperCase().replace(/\s+/g, ' '))),
  ].map(canonicalPrivilege);
  if (table !== '*') {
    const notForTables = privileges.filter((privilege) => !TABLE_PRIVILEGES.has(privilege));
    if (notForTables.length > 0) {
      return { ok: false, reason: `${notForTables.join(', ')} cannot be granted on one table` };
    }
  }
  return { ok: true, grant: { privileges, database, table } };
}

function canonicalPrivilege(name: string): DatabasePrivilege {
  const known = DATABASE_PRIVILEGES.find((privilege) => privilege === name);
  // Unreachable: GRANT_PATTERN only matches allowlisted names.
  if (known === undefined) throw new TypeError(`unknown privilege ${name}`);
  return known;
}

/**
 * The GRANT statement for one account. Privilege keywords are the allowlist's own constants,
 * identifiers go through `escapeId`, and the account through `format`'s placeholders.
 *
 * In a database-level grant (`ON db.*`) the server reads `_` and `%` in the database name as
 * wildcards, so `app_db.*` would also cover `appXdb`; `escapeWildcards` makes `_` literal.
 * Servers that treat those names literally already (MySQL with `partial_revokes=ON`) must not
 * get the escape, or the backslash becomes part of the name.
 */
export function grantStatement(
  grant: Grant,
  account: { user: string; host: string },
  escapeWildcards: boolean,
): string {
  const databaseName =
    grant.table === '*' && escapeWildcards ? grant.database.replace(/_/g, '\\_') : grant.database;
  const database = mysql.escapeId(databaseName, true);
  const table = grant.table === '*' ? '*' : mysql.escapeId(grant.table, true);
  return mysql.format(`GRANT ${grant.privileges.join(', ')} ON ${database}.${table} TO ?@?`, [
    account.user,
    account.host,
  ]);
}
