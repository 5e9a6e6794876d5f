import { checkedCeiling, unionOf } from '../lib/suggest-ceiling.js';
import { type RedisCeiling, type RedisScope, redisCeilingSchema } from './scope.js';

/** The key and channel patterns used, as written, and the command categories used. */
export function suggestRedisCeiling(used: readonly RedisScope[]): RedisCeiling | undefined {
  if (used.length === 0) return undefined;
  const channels = unionOf(used.map((s) => s.channels));
  return checkedCeiling(redisCeilingSchema, {
    keys: unionOf(used.map((s) => s.keys)),
    categories: unionOf(used.map((s) => s.categories)),
    ...(channels.length === 0 ? {} : { channels }),
  });
}
