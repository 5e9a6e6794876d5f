import type { z } from 'zod';

/** Every distinct entry of the lists, sorted: a ceiling's list built from what was used. */
export function unionOf(lists: Iterable<readonly string[] | undefined>): string[] {
  const all = new Set<string>();
  for (const list of lists) for (const entry of list ?? []) all.add(entry);
  return [...all].sort();
}

/**
 * The suggestion when the provider's ceiling schema takes it as it is (sizes, patterns),
 * else `undefined`: a report never offers a ceiling the configuration would refuse.
 */
export function checkedCeiling<C>(schema: z.ZodType<C>, candidate: unknown): C | undefined {
  const parsed = schema.safeParse(candidate);
  return parsed.success ? parsed.data : undefined;
}
