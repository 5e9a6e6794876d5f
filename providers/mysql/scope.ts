import { z } from 'zod';
import type { Check } from '../provider.js';
import { PRIVILEGE_SET_NAME } from './config.js';

/** A request names privilege sets of the target; it never carries SQL or privilege names. */
export interface MysqlScope {
  privilege_sets: string[];
}
/** A policy allows privilege sets by name. */
export interface MysqlCeiling {
  privilege_sets: string[];
}

const setNames = z
  .array(z.string().regex(PRIVILEGE_SET_NAME, 'a privilege set name'))
  .min(1)
  .max(32)
  .refine((names) => new Set(names).size === names.length, 'privilege sets must be unique');

export const mysqlScopeSchema: z.ZodType<MysqlScope> = z
  .object({ privilege_sets: setNames })
  .strict();

export const mysqlCeilingSchema: z.ZodType<MysqlCeiling> = z
  .object({ privilege_sets: setNames })
  .strict();

/**
 * Every requested set must be allowed by the ceiling and configured on the target: a policy
 * naming a set the target lost (config edit) grants nothing.
 */
export function mysqlWithin(
  configured: ReadonlySet<string>,
): (scope: MysqlScope, ceiling: MysqlCeiling) => Check {
  return (scope, ceiling) => {
    for (const name of scope.privilege_sets) {
      if (!ceiling.privilege_sets.includes(name)) {
        return { ok: false, reason: `privilege set "${name}" is not within the ceiling` };
      }
      if (!configured.has(name)) {
        return { ok: false, reason: `privilege set "${name}" is not configured on the target` };
      }
    }
    return { ok: true };
  };
}
