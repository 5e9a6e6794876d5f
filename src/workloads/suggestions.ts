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
 * granted under it, built by the target's provider (`suggestCeiling`). A provider without the
 * capability, or scopes that make no valid ceiling, give no suggestion.
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
    const suggested = provider?.suggestCeiling?.(used.map((l) => l.scope));
    if (suggested === undefined) {
      out.push({
        ...base,
        status: 'no_suggestion',
        reason:
          provider?.suggestCeiling === undefined
            ? "the target's provider does not build ceilings from used scopes"
            : 'the scopes used make no valid ceiling for this target',
      });
      continue;
    }
    const parsedCurrent = provider?.ceiling.safeParse(grant.ceiling);
    if (parsedCurrent?.success && canonicalize(parsedCurrent.data) === canonicalize(suggested)) {
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
