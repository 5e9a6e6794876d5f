import { benchRawConfig, JWT_TARGET } from './config.js';
import { WORKLOAD_AUDIENCE, WORKLOAD_ISSUER, WORKLOAD_SUBJECT } from './issue-identity.js';
import type { PgRun } from './issue-pg.js';

export const PG_TARGET = 'app-db';

export interface IssueConfigOptions {
  prefix: string;
  redisUrl: string;
  jwksUrl: string;
  /** A postgres target instead of the jwt one. */
  pg?: PgRun;
}

/**
 * The issuance bench's broker, as an operator would configure it: an OIDC-style issuer with
 * an HTTP JWKS, one workload, one policy allowing the target, the Redis stream sink required
 * and stdout events off.
 */
export async function issueRawConfig(
  options: IssueConfigOptions,
): Promise<Record<string, unknown>> {
  const raw = await benchRawConfig({ prefix: options.prefix, redisUrl: options.redisUrl });
  const { pg } = options;
  Object.assign(raw, {
    events: {
      stdout: { enabled: false },
      redis_stream: { enabled: true, stream: 'events', mode: 'required' },
    },
    issuers: [
      {
        name: 'bench',
        issuer: WORKLOAD_ISSUER,
        audience: WORKLOAD_AUDIENCE,
        jwks_uri: options.jwksUrl,
        allow_insecure_loopback: true,
        algorithms: ['ES256'],
      },
    ],
    workloads: [
      {
        id: 'agent',
        issuer: 'bench',
        subject: WORKLOAD_SUBJECT,
        tier: 'write',
        max_active_leases: 1_000_000,
      },
    ],
    policies: [
      {
        name: 'agent-issuance',
        workloads: ['agent'],
        target: pg === undefined ? JWT_TARGET : PG_TARGET,
        allow: pg === undefined ? { scopes: ['tickets:read'] } : { roles: [pg.group] },
        intents: ['triage'],
        default_ttl: '10m',
        max_ttl: '1h',
      },
    ],
  });
  if (pg !== undefined) {
    raw.targets = [
      {
        name: PG_TARGET,
        provider: 'postgres',
        admin_url: pg.adminUrl,
        databases: [pg.database],
        connect: { host: pg.host, port: pg.port, database: pg.database },
        roles: { [pg.group]: { access: 'read' } },
        reassign_to: pg.owner,
        role_prefix: pg.rolePrefix,
      },
    ];
  }
  return raw;
}

/** The body of one issuance request; every request names its own task. */
export function issueBody(task: number, pg?: PgRun): string {
  return JSON.stringify({
    target: pg === undefined ? JWT_TARGET : PG_TARGET,
    scope: pg === undefined ? { scopes: ['tickets:read'] } : { roles: [pg.group] },
    task: { id: `task-${task}`, intent: 'triage' },
  });
}
