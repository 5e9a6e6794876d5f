import type { z } from 'zod';
import { ProviderError } from '../provider.js';

/**
 * The scope a provider mints for, parsed again by its own schema. The broker has checked it
 * already; a provider still never builds a statement or a request from anything its schema
 * has not accepted.
 */
export function mintScope<Scope>(schema: z.ZodType<Scope>, scope: unknown, kind: string): Scope {
  const parsed = schema.safeParse(scope);
  if (!parsed.success) {
    throw new ProviderError(
      'invalid_scope',
      `scope does not match the ${kind} scope schema`,
      false,
    );
  }
  return parsed.data;
}
