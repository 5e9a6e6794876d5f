import { checkedCeiling, unionOf } from '../lib/suggest-ceiling.js';
import { type PostgresCeiling, type PostgresScope, postgresCeilingSchema } from './scope.js';

/** The group roles used. */
export function suggestPostgresCeiling(
  used: readonly PostgresScope[],
): PostgresCeiling | undefined {
  if (used.length === 0) return undefined;
  return checkedCeiling(postgresCeilingSchema, { roles: unionOf(used.map((s) => s.roles)) });
}
