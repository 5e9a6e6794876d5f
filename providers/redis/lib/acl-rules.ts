import type { RedisScope } from '../scope.js';

/**
 * Subtracted after every grant. Category grants are wide: `@write` and `@keyspace` carry
 * FLUSHALL and FLUSHDB, `@slow` carries EVAL and the admin commands, and key patterns do not
 * restrict commands that take no key. SCAN and RANDOMKEY take no key either and would list
 * key names outside the patterns.
 */
export const ALWAYS_DENIED = ['-@dangerous', '-@admin', '-@scripting', '-scan', '-randomkey'];

/**
 * The `ACL SETUSER` rules for a lease, applied left to right: `reset` first (off, no
 * password, no keys, no channels, `-@all`), then exactly the scope. A user set up twice with
 * the same rules ends in the same state, so a retried mint is safe.
 */
export function aclRules(scope: RedisScope, passwordHash: string): string[] {
  return [
    'reset',
    'resetkeys',
    'resetchannels',
    'nocommands',
    ...scope.keys.map((pattern) => `~${pattern}`),
    ...(scope.channels ?? []).map((pattern) => `&${pattern}`),
    ...scope.categories.map((category) => `+@${category}`),
    ...ALWAYS_DENIED,
    passwordHash,
    'on',
  ];
}
