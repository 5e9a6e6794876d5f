import { checkedCeiling, unionOf } from '../lib/suggest-ceiling.js';
import { type AwsCeiling, type AwsScope, awsCeilingSchema } from './scope.js';

/**
 * The action and resource patterns used, as written. A scope's conditions only narrow it,
 * so a ceiling without them still holds every scope used.
 */
export function suggestAwsCeiling(used: readonly AwsScope[]): AwsCeiling | undefined {
  if (used.length === 0) return undefined;
  return checkedCeiling(awsCeilingSchema, {
    actions: unionOf(used.map((s) => s.actions)),
    resources: unionOf(used.map((s) => s.resources)),
  });
}
