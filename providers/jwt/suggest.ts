import { checkedCeiling, unionOf } from '../lib/suggest-ceiling.js';
import { type JwtCeiling, type JwtScope, jwtCeilingSchema } from './scope.js';

/** The scope strings used, each one exactly (no trailing `*`). */
export function suggestJwtCeiling(used: readonly JwtScope[]): JwtCeiling | undefined {
  if (used.length === 0) return undefined;
  return checkedCeiling(jwtCeilingSchema, { scopes: unionOf(used.map((s) => s.scopes)) });
}
