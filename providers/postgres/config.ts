import { z } from 'zod';
import { targetBaseSchema } from '../../src/config/schema.js';
import { MAX_ROLE_PREFIX_LENGTH, ROLE_NAME } from './lib/identifiers.js';

export const ROLE_ACCESS = ['read', 'write'] as const;
export type RoleAccess = (typeof ROLE_ACCESS)[number];

/**
 * Built-in roles start with `pg_`; on PostgreSQL 15 a `CREATEROLE` role may grant them
 * (`pg_execute_server_program`, `pg_read_server_files`), so none can be configured.
 */
const notBuiltIn = (role: string) => !role.startsWith('pg_');

export const roleNameSchema = z
  .string()
  .regex(ROLE_NAME, 'lowercase letters, digits and "_", starting with a letter or "_", ≤ 63')
  .refine(notBuiltIn, 'built-in "pg_" roles cannot be used');

const databaseName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only');

function isPostgresUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'postgres:' || url.protocol === 'postgresql:';
  } catch {
    return false;
  }
}

/** A `postgres` target: short-lived login roles that are members of configured group roles. */
export const postgresTargetSchema = z
  .object({
    name: targetBaseSchema.shape.name,
    provider: z.literal('postgres'),
    /**
     * Connection URL of the broker's admin role: `CREATEROLE`, never a superuser (see
     * docs/providers/postgres.md for the exact grants). Comes from `${env:…}`/`${file:…}`.
     */
    admin_url: z.string().min(1).refine(isPostgresUrl, 'must be a postgres:// URL'),
    /** Every database a minted login can reach; revocation reassigns and drops its objects in each. */
    databases: z.array(databaseName).min(1).max(64),
    /** What the workload is told to connect to (may differ from the admin URL: a pooler, a DNS name). */
    connect: z
      .object({
        host: z.string().min(1).max(255),
        port: z.number().int().min(1).max(65_535).default(5432),
        database: databaseName,
      })
      .strict(),
    /** Group roles the broker may hand out, and what each is for. */
    roles: z.record(roleNameSchema, z.object({ access: z.enum(ROLE_ACCESS) }).strict()),
    role_prefix: z
      .string()
      .regex(
        new RegExp(`^[a-z_][a-z0-9_]{0,${MAX_ROLE_PREFIX_LENGTH - 1}}$`),
        `lowercase letters, digits and "_", at most ${MAX_ROLE_PREFIX_LENGTH} characters`,
      )
      .refine(notBuiltIn, 'cannot start with "pg_"')
      .default('jit_'),
    /** Receives the objects a revoked login created (REASSIGN OWNED). */
    reassign_to: roleNameSchema,
    revoke_concurrency: z.number().int().positive().max(256).default(8),
    /** `CONNECTION LIMIT` of each minted login. */
    connection_limit: z.number().int().min(1).max(10_000).default(5),
  })
  .strict()
  .superRefine((target, ctx) => {
    const groups = Object.keys(target.roles);
    if (groups.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['roles'], message: 'at least one group role' });
    }
    if (new Set(target.databases).size !== target.databases.length) {
      ctx.addIssue({ code: 'custom', path: ['databases'], message: 'duplicate database' });
    }
    if (!target.databases.includes(target.connect.database)) {
      ctx.addIssue({
        code: 'custom',
        path: ['connect', 'database'],
        message: 'must be one of `databases` (revocation cleans only those)',
      });
    }
    // The sweeper drops roles under the prefix: nothing the broker relies on may live there.
    for (const group of groups) {
      if (group.startsWith(target.role_prefix)) {
        ctx.addIssue({
          code: 'custom',
          path: ['roles', group],
          message: `group role must not start with role_prefix "${target.role_prefix}"`,
        });
      }
    }
    if (target.reassign_to.startsWith(target.role_prefix)) {
      ctx.addIssue({
        code: 'custom',
        path: ['reassign_to'],
        message: 'must not start with role_prefix',
      });
    }
    if (groups.includes(target.reassign_to)) {
      ctx.addIssue({
        code: 'custom',
        path: ['reassign_to'],
        message: 'must not be a group role the broker hands out',
      });
    }
    const admin = adminUser(target.admin_url);
    if (admin !== null && (admin.startsWith(target.role_prefix) || groups.includes(admin))) {
      ctx.addIssue({
        code: 'custom',
        path: ['admin_url'],
        message: 'the admin role must not be under role_prefix nor a group role handed out',
      });
    }
  });
export type PostgresTargetConfig = z.infer<typeof postgresTargetSchema>;

function adminUser(adminUrl: string): string | null {
  try {
    return decodeURIComponent(new URL(adminUrl).username) || null;
  } catch {
    return null;
  }
}
