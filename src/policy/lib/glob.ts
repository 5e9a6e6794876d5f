/**
 * A glob over a flat name (a tool, a workload id): `*` matches any run of characters, `?`
 * one. Everything else is literal, so a name with regex metacharacters means itself.
 */
export function compileGlob(pattern: string): (value: string) => boolean {
  if (!isGlob(pattern)) return (value) => value === pattern;
  const source = pattern
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
    .join('');
  const regex = new RegExp(`^${source}$`, 's');
  return (value) => regex.test(value);
}

export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/** The first pattern (in the order given) that matches `value`. */
export function firstMatch<T extends { matches: (value: string) => boolean }>(
  patterns: readonly T[],
  value: string,
): T | undefined {
  return patterns.find((p) => p.matches(value));
}
