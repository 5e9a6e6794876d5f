import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { LEASE_PREFIX, LEASE_SUFFIX_SOURCE } from '../../src/lib/ids.js';
import { type Minted, type MintRequest, ProviderError } from '../provider.js';
import { toProviderError } from './lib/errors.js';
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
const PRIVILEGED_ROLE = `(b.rolsuper OR b.rolcreaterole OR b.rolcreatedb OR b.rolreplication
  OR b.rolbypassrls OR b.rolname = ANY($2::text[]))`;
const DANGEROUS_BUILT_INS = [
  'pg_execute_server_program',
  'pg_read_server_files',
  'pg_write_server_files',
  'pg_signal_backend',
  'pg_create_subscription',
];

export function commentFor(leaseId: string, createdAt: Date): string {
  return `jit-broker lease ${leaseId} created ${createdAt.toISOString()}`;
}

export const COMMENT_PATTERN = new RegExp(
  `^jit-broker lease (${LEASE_PREFIX}${LEASE_SUFFIX_SOURCE}) created (\\S+)$`,
);

/**
 * Creates the lease's login role in one transaction (role, comment, memberships, a check of
 * what was granted), so a failure at any step leaves nothing behind. Only when COMMIT itself
 * may have landed without an answer is the role dropped explicitly.
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
  const verifier = scramSha256Verifier(password);
  const expiresAt = new Date(req.expiresAt);
  const secrets = [...target.secrets, password, verifier];

  const ident = pg.escapeIdentifier(role);
  let client: pg.PoolClient;
  try {
    client = await target.pools.admin().connect();
  } catch (err) {
    throw toProviderError(config.name, 'connect', err, secrets);
  }
  let step = 'begin';
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    step = 'read server time';
    const { rows } = await client.query<{ now: Date }>('SELECT now() AS now');
    const createdAt = rows[0]?.now ?? new Date();
    step = 'create role';
    // INHERIT (the default) so the group roles' privileges apply without SET ROLE.
    await client.query(
      `CREATE ROLE ${ident} WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS` +
        ` CONNECTION LIMIT ${config.connection_limit}` +
        ` PASSWORD ${pg.escapeLiteral(verifier)}` +
        ` VALID UNTIL ${pg.escapeLiteral(expiresAt.toISOString())}`,
    );
    step = 'comment on role';
    await client.query(
      `COMMENT ON ROLE ${ident} IS ${pg.escapeLiteral(commentFor(req.leaseId, createdAt))}`,
    );
    for (const group of scope.roles) {
      step = `grant "${group}"`;
      await client.query(`GRANT ${pg.escapeIdentifier(group)} TO ${ident}`);
    }
    step = 'check granted roles';
    await assertGroupsAreUnprivileged(client, config.name, scope.roles);
    step = 'commit';
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
      broken = rollbackErr instanceof Error ? rollbackErr : new Error('rollback failed');
    });
    // COMMIT may have reached the server even though no answer came back.
    if (step === 'commit') {
      await revokeLoginRole(target, role).catch(() => {});
    }
    throw toProviderError(config.name, step, err, secrets);
  } finally {
    // A client that could not even roll back must not go back into the pool.
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

async function assertGroupsAreUnprivileged(
  client: pg.PoolClient,
  target: string,
  groups: readonly string[],
): Promise<void> {
  const { rows } = await client.query<{ rolname: string }>(
    `SELECT g.rolname FROM pg_roles g
      WHERE g.rolname = ANY($1::text[])
        AND EXISTS (SELECT 1 FROM pg_roles b
                     WHERE ${PRIVILEGED_ROLE} AND pg_has_role(g.oid, b.oid, 'MEMBER'))`,
    [groups, DANGEROUS_BUILT_INS],
  );
  const bad = rows.map((row) => row.rolname);
  if (bad.length > 0) {
    throw new ProviderError(
      'provider_misconfigured',
      `postgres target "${target}": group role(s) ${bad.join(', ')} carry superuser-like attributes or built-in server roles; refusing to grant`,
      false,
    );
  }
}

function connectionUrl(
  user: string,
  password: string,
  connect: { host: string; port: number; database: string },
): string {
  const host = connect.host.includes(':') ? `[${connect.host}]` : connect.host;
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${connect.port}/${encodeURIComponent(connect.database)}`;
}
