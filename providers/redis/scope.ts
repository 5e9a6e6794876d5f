import { z } from 'zod';
import type { Check } from '../provider.js';

/**
 * Command categories a lease may hold. `all`, `admin`, `dangerous` and `scripting` are not
 * among them, and the ACL rules subtract those three after the grant in any case.
 */
export const REDIS_CATEGORIES = [
  'read',
  'write',
  'keyspace',
  'string',
  'hash',
  'list',
  'set',
  'sortedset',
  'stream',
  'bitmap',
  'hyperloglog',
  'geo',
  'pubsub',
  'connection',
  'fast',
  'slow',
] as const;
export type RedisCategory = (typeof REDIS_CATEGORIES)[number];

/**
 * Key and channel patterns: Redis globs limited to `*` (no `?`, `[…]`, `\`), with no leading
 * `~`/`%`/`&` and no whitespace, so a pattern can never become another ACL rule.
 */
const PATTERN = /^[A-Za-z0-9:_*.{}-]{1,256}$/;
const pattern = z.string().regex(PATTERN, 'letters, digits and ":_*.{}-" only');
const patterns = (max: number) =>
  z
    .array(pattern)
    .max(max)
    .refine((list) => new Set(list).size === list.length, 'patterns must be unique');
const categories = z
  .array(z.enum(REDIS_CATEGORIES))
  .min(1)
  .max(REDIS_CATEGORIES.length)
  .refine((list) => new Set(list).size === list.length, 'categories must be unique');

export interface RedisScope {
  keys: string[];
  categories: RedisCategory[];
  channels?: string[];
}
export interface RedisCeiling {
  keys: string[];
  categories: RedisCategory[];
  channels?: string[];
}

export const redisScopeSchema: z.ZodType<RedisScope> = z
  .object({
    keys: patterns(32).min(1),
    categories,
    channels: patterns(32).exactOptional(),
  })
  .strict();

export const redisCeilingSchema: z.ZodType<RedisCeiling> = z
  .object({
    keys: patterns(256).min(1),
    categories,
    channels: patterns(256).exactOptional(),
  })
  .strict();

export function redisWithin(scope: RedisScope, ceiling: RedisCeiling): Check {
  for (const requested of scope.keys) {
    if (!ceiling.keys.some((entry) => covers(entry, requested))) {
      return { ok: false, reason: `key pattern "${requested}" is not within the ceiling` };
    }
  }
  for (const category of scope.categories) {
    if (!ceiling.categories.includes(category)) {
      return { ok: false, reason: `category "${category}" is not within the ceiling` };
    }
  }
  for (const requested of scope.channels ?? []) {
    if (!(ceiling.channels ?? []).some((entry) => covers(entry, requested))) {
      return { ok: false, reason: `channel pattern "${requested}" is not within the ceiling` };
    }
  }
  return { ok: true };
}

/**
 * A ceiling entry covers a request that equals it, or — when the entry is a prefix ending in
 * its only `*` — a request that starts with that prefix and has no `*` except possibly a final
 * one (a literal key, or a narrower prefix). A `*` anywhere else could match names outside
 * the prefix (`cache:*` never covers `*:x`, nor `cache*`).
 */
function covers(entry: string, requested: string): boolean {
  if (entry === requested) return true;
  const star = entry.indexOf('*');
  if (star !== entry.length - 1) return false;
  const prefix = entry.slice(0, -1);
  if (!requested.startsWith(prefix)) return false;
  const rest = requested.slice(prefix.length);
  const restStar = rest.indexOf('*');
  return restStar === -1 || restStar === rest.length - 1;
}
