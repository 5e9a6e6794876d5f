import { z } from 'zod';
import type { Check } from '../provider.js';
import { roleNameSchema } from './config.js';

/** At most this many group roles per credential. */
export const MAX_SCOPE_ROLES = 8;

export interface PostgresScope {
  /** Group roles the login is made a member of. */
  roles: string[];
}
export interface PostgresCeiling {
  roles: string[];
}

const distinct = (roles: string[]) => new Set(roles).size === roles.length;

export const postgresScopeSchema: z.ZodType<PostgresScope> = z
  .object({
    roles: z
      .array(roleNameSchema)
      .min(1)
      .max(MAX_SCOPE_ROLES)
      .refine(distinct, 'roles must be distinct'),
  })
  .strict();

export const postgresCeilingSchema: z.ZodType<PostgresCeiling> = z
  .object({ roles: z.array(roleNameSchema).min(1).max(256) })
  .strict();

/**
 * Every requested role must be in the policy's ceiling and configured on the target: a policy
 * cannot hand out a role the target's operator did not list.
 */
export function postgresWithin(
  configured: ReadonlySet<string>,
): (scope: PostgresScope, ceiling: PostgresCeiling) => Check {
  return (scope, ceiling) => {
    for (const role of scope.roles) {
      if (!ceiling.roles.includes(role)) {
        return { ok: false, reason: `role "${role}" is not within the ceiling` };
      }
      if (!configured.has(role)) {
        return { ok: false, reason: `role "${role}" is not configured on the target` };
      }
    }
    return { ok: true };
  };
}
