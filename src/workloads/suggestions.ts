import { stringify } from 'yaml';
import type { Provider } from '../../providers/provider.js';
import { canonicalize } from '../events/canonical.js';
import type { Lease } from '../leases/types.js';
import type { GrantView } from './grants.js';

/** A tighter ceiling for one used allow policy, or why there is none. */
export type CeilingSuggestion =
  | {
      policy: string;
      target: string;
      status: 'suggested';
      allow: unknown;
      /** The policy's `allow` replaced, ready to paste over the policy's entry in `policies:`. */
      yaml: string;
    }
  | {
      policy: string;
      target: string;
      status: 'already_tight' | 'no_suggestion';
      reason: string;
    };

/**
 * For each allow policy the workload used, the narrowest ceiling holding every scope it was
 * granted under it, built by the target's provider (`suggestCeiling`) from the used scopes the
 * policy's current ceiling still holds, so a suggestion is never wider than that ceiling. A
 * provider without the capability, or scopes that make no valid ceiling, give no suggestion.
 */
export function suggestCeilings(
  grants: readonly GrantView[],
  leases: readonly Lease[],
  providers: ReadonlyMap<string, Provider>,
): CeilingSuggestion[] {
  const byPolicy = new Map<string, Lease[]>();
  for (const lease of leases) {
    const list = byPolicy.get(lease.policy);
    if (list === undefined) byPolicy.set(lease.policy, [lease]);
    else list.push(lease);
  }
  const out: CeilingSuggestion[] = [];
  for (const grant of grants) {
    const used = byPolicy.get(grant.policy)?.filter((l) => l.target === grant.target);
    if (grant.effect !== 'allow' || used === undefined || used.length === 0) continue;
    const base = { policy: grant.policy, target: grant.target };
    const provider = providers.get(grant.target);
    const parsedCurrent = provider?.ceiling.safeParse(grant.ceiling);
    if (provider?.suggestCeiling === undefined || !parsedCurrent?.success) {
      out.push({
        ...base,
        status: 'no_suggestion',
        reason:
          provider?.suggestCeiling === undefined
            ? "the target's provider does not build ceilings from used scopes"
            : "the policy's ceiling is not one the target's provider reads",
      });
      continue;
    }
    const current = parsedCurrent.data;
    // Scopes granted under an earlier, wider version of the policy are not what it allows now.
    const allowed = used
      .map((l) => l.scope)
      .filter((scope) => withinCurrent(provider, scope, current));
    const suggested = allowed.length === 0 ? undefined : provider.suggestCeiling(allowed);
    if (suggested === undefined || !suggestionWithin(provider, suggested, current)) {
      out.push({
        ...base,
        status: 'no_suggestion',
        reason:
          allowed.length === 0
            ? "no scope used is within the policy's current ceiling"
            : 'the scopes used make no valid ceiling within the current one',
      });
      continue;
    }
    if (canonicalize(current) === canonicalize(suggested)) {
      out.push({ ...base, status: 'already_tight', reason: 'the ceiling is what was used' });
      continue;
    }
    out.push({
      ...base,
      status: 'suggested',
      allow: suggested,
      yaml: stringify([{ name: grant.policy, allow: suggested }]),
    });
  }
  return out;
}

/** A used scope the current ceiling still holds (a scope the provider no longer reads is not). */
function withinCurrent(provider: Provider, scope: unknown, ceiling: unknown): boolean {
  const parsed = provider.scope.safeParse(scope);
  return parsed.success && provider.within(parsed.data, ceiling).ok;
}

/**
 * A suggestion is never wider than the ceiling it would replace: read as a scope, it must be
 * within the current ceiling. One too large to read as a scope is a union of scopes that each
 * are, entry by entry, which is how every provider's `within` judges.
 */
function suggestionWithin(provider: Provider, suggested: unknown, ceiling: unknown): boolean {
  const asScope = provider.scope.safeParse(suggested);
  return !asScope.success || provider.within(asScope.data, ceiling).ok;
}
