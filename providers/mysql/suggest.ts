import { checkedCeiling, unionOf } from '../lib/suggest-ceiling.js';
import { type MysqlCeiling, type MysqlScope, mysqlCeilingSchema } from './scope.js';

/** The privilege sets used. */
export function suggestMysqlCeiling(used: readonly MysqlScope[]): MysqlCeiling | undefined {
  if (used.length === 0) return undefined;
  return checkedCeiling(mysqlCeilingSchema, {
    privilege_sets: unionOf(used.map((s) => s.privilege_sets)),
  });
}
