import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { LEASE_PREFIX, LEASE_SUFFIX_SOURCE } from '../../src/lib/ids.js';
import { type Minted, type MintRequest, ProviderError } from '../provider.js';
import { sqlState, toProviderError } from './lib/errors.js';
import { loginRoleFor } from './lib/identifiers.js';
import { scramSha256Verifier } from './lib/scram.js';
import type { PostgresTarget } from './lib/target.js';
import { revokeLoginRole } from './revoke.js';
import type { PostgresScope } from './scope.js';

export interface PostgresCredential {
  username: string;
  password: string;
  host: string;
  port: number;
  database: string;
  /** `postgres://user:password@host:port/database` */
  url: string;
  /** ISO 8601; equals the role's `VALID UNTIL`. */
  expires_at: string;
}

/**
 * A group role handed out must not reach, through any chain of membership, a role with
 * superuser-like attributes (a member can `SET ROLE` to it and assume them: attributes are
 * not inherited but come with the role) or a built-in role that reaches the server's files,
 * programs or other sessions.
 */
const DANGEROUS_BUILT_INS = [
  'pg_execute_server_program',
  'pg_read_server_files',
  'pg_write_server_files',
  'pg_signal_backend',
  'pg_create_subscription',
];
const PRIVILEGED_ROLE = `(b.rolsuper OR b.rolcreaterole OR b.rolcreatedb OR b.rolreplication
  OR b.rolbypassrls OR b.rolname = ANY(${textArray(DANGEROUS_BUILT_INS)}))`;

/** The SQLSTATE the mint raises when a group role is privileged (class JB: the broker's own). */
const PRIVILEGED_GROUP_STATE = 'JBG01';

/** The role's comment, before the creation time (the server's, as `Date#toISOString` writes it). */
function commentPrefix(leaseId: string): string {
  return `jit-broker lease ${leaseId} created `;
}

export const COMMENT_PATTERN = new RegExp(
  `^jit-broker lease (${LEASE_PREFIX}${LEASE_SUFFIX_SOURCE}) created (\\S+)$`,
);

/**
 * Creates the lease's login role in one transaction (role, memberships, comment, a check of
 * what was granted), sent as one simple query: one round trip. A server error anywhere
 * aborts the transaction and skips the rest, COMMIT included, so it leaves nothing behind.
 * Only when no server error came back (the connection failed or the answer was lost) may
 * COMMIT have landed, and then the role is dropped explicitly.
 */
export async function mintLoginRole(
  target: PostgresTarget,
  req: MintRequest<PostgresScope>,
  scope: PostgresScope,
): Promise<Minted<PostgresCredential>> {
  const { config } = target;
  if (!(req.expiresAt > Date.now())) {
    throw new ProviderError('provider_rejected', 'expiry is in the past', false);
  }
  const role = loginRoleFor(config.role_prefix, req.leaseId);
  const password = randomBytes(32).toString('base64url');
  const verifier = await scramSha256Verifier(password);
  const expiresAt = new Date(req.expiresAt);
  const secrets = [...target.secrets, password, verifier];
  const sql = mintStatements(role, req.leaseId, scope.roles, {
    verifier,
    validUntil: expiresAt.toISOString(),
    connectionLimit: config.connection_limit,
  });

  let client: pg.PoolClient;
  try {
    client = await target.pools.admin().connect();
  } catch (err) {
    throw toProviderError(config.name, 'connect', err, secrets);
  }
  let broken: Error | undefined;
  // A session ended under the mint reports here; a checked-out client has no other listener,
  // and an unheard 'error' would end the process.
  const onLost = (err: Error) => {
    broken = err;
  };
  client.on('error', onLost);
  try {
    await client.query(sql);
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
      broken = rollbackErr instanceof Error ? rollbackErr : new Error('rollback failed');
    });
    if (!serverAborted(err)) {
      // COMMIT may have reached the server even though no answer came back.
      await revokeLoginRole(target, role).catch(() => {});
    }
    if (sqlState(err) === PRIVILEGED_GROUP_STATE) {
      throw new ProviderError(
        'provider_misconfigured',
        `postgres target "${config.name}": group role(s) ${(err as Error).message} carry superuser-like attributes or built-in server roles; refusing to grant`,
        false,
      );
    }
    throw toProviderError(config.name, 'create role', err, secrets);
  } finally {
    // A client that could not even roll back must not go back into the pool.
    client.off('error', onLost);
    client.release(broken);
  }

  const credential: PostgresCredential = {
    username: role,
    password,
    host: config.connect.host,
    port: config.connect.port,
    database: config.connect.database,
    url: connectionUrl(role, password, config.connect),
    expires_at: expiresAt.toISOString(),
  };
  return { credential, handle: { role }, providerExpiresAt: expiresAt.getTime() };
}

/**
 * The mint as one script: BEGIN, CREATE ROLE, one GRANT per group, a DO block, COMMIT. The
 * DO block writes the comment with the server's transaction time (COMMENT takes only a
 * constant) and raises when a granted group is privileged: it walks up `pg_auth_members` from
 * each group (the roles it reaches, itself included, as `pg_has_role(…, 'MEMBER')` counts
 * them), so the check follows index lookups, not a scan of every role on the server. Every name and value is escaped
 * where it is written; the DO body is then escaped whole as one literal. INHERIT (the
 * default) so the group roles' privileges apply without SET ROLE.
 */
export function mintStatements(
  role: string,
  leaseId: string,
  groups: readonly string[],
  login: { verifier: string; validUntil: string; connectionLimit: number },
): string {
  const ident = pg.escapeIdentifier(role);
  const finish = `DECLARE bad text;
BEGIN
  EXECUTE format('COMMENT ON ROLE %I IS %L', ${pg.escapeLiteral(role)},
    ${pg.escapeLiteral(commentPrefix(leaseId))}
      || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
  WITH RECURSIVE reach(granted, oid) AS (
      SELECT g.rolname, g.oid FROM pg_roles g WHERE g.rolname = ANY(${textArray(groups)})
    UNION
      SELECT reach.granted, m.roleid FROM pg_auth_members m JOIN reach ON m.member = reach.oid)
  SELECT string_agg(DISTINCT reach.granted, ', ' ORDER BY reach.granted) INTO bad
    FROM reach JOIN pg_roles b ON b.oid = reach.oid WHERE ${PRIVILEGED_ROLE};
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = '${PRIVILEGED_GROUP_STATE}', MESSAGE = bad;
  END IF;
END`;
  return [
    'BEGIN',
    `CREATE ROLE ${ident} WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS` +
      ` CONNECTION LIMIT ${Math.trunc(login.connectionLimit)}` +
      ` PASSWORD ${pg.escapeLiteral(login.verifier)}` +
      ` VALID UNTIL ${pg.escapeLiteral(login.validUntil)}`,
    ...groups.map((group) => `GRANT ${pg.escapeIdentifier(group)} TO ${ident}`),
    `DO LANGUAGE plpgsql ${pg.escapeLiteral(finish)}`,
    'COMMIT',
  ].join(';\n');
}

/**
 * True when the server answered with an error that aborted the transaction: it then skipped
 * the rest of the script, COMMIT included. Anything else (no answer, a lost connection, a
 * FATAL that ends the session) leaves open whether COMMIT ran.
 */
function serverAborted(err: unknown): boolean {
  return sqlState(err) !== undefined && (err as { severity?: unknown }).severity === 'ERROR';
}

function textArray(values: readonly string[]): string {
  return `ARRAY[${values.map((value) => pg.escapeLiteral(value)).join(', ')}]::text[]`;
}

function connectionUrl(
  user: string,
  password: string,
  connect: { host: string; port: number; database: string },
): string {
  const host = connect.host.includes(':') ? `[${connect.host}]` : connect.host;
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${connect.port}/${encodeURIComponent(connect.database)}`;
}
