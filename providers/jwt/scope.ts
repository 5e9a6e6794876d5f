import { z } from 'zod';
import type { Check } from '../provider.js';

const SCOPE_CHARS = /^[A-Za-z0-9:._/*-]+$/;
/** A ceiling entry may end with `*` (prefix wildcard); `*` anywhere else is not allowed. */
const CEILING_ENTRY = /^[A-Za-z0-9:._/-]*\*?$/;

export interface JwtScope {
  scopes: string[];
}
export interface JwtCeiling {
  scopes: string[];
}

export function jwtScopeSchema(maxScopes: number): z.ZodType<JwtScope> {
  return z
    .object({
      scopes: z
        .array(z.string().min(1).max(128).regex(SCOPE_CHARS, 'invalid character'))
        .min(1)
        .max(maxScopes),
    })
    .strict();
}

export const jwtCeilingSchema: z.ZodType<JwtCeiling> = z
  .object({
    scopes: z
      .array(
        z
          .string()
          .min(1)
          .max(128)
          .regex(CEILING_ENTRY, 'only [A-Za-z0-9:._/-], with an optional trailing "*"'),
      )
      .min(1),
  })
  .strict();

/**
 * Every requested scope must be covered by a ceiling entry. A requested scope that itself
 * contains `*` is covered only by an identical entry: a wildcard is never widened, so a
 * ceiling of `repo:*` cannot grant a request for `*`, nor `repo:a*` grant `repo:*`.
 */
export function jwtWithin(scope: JwtScope, ceiling: JwtCeiling): Check {
  for (const requested of scope.scopes) {
    if (!ceiling.scopes.some((entry) => covers(entry, requested))) {
      return { ok: false, reason: `scope "${requested}" is not within the ceiling` };
    }
  }
  return { ok: true };
}

function covers(entry: string, requested: string): boolean {
  if (entry === requested) return true;
  if (requested.includes('*')) return false;
  return entry.endsWith('*') && requested.startsWith(entry.slice(0, -1));
}
