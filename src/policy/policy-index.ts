import type { CompiledPolicy } from './compile.js';

interface TargetPolicies {
  readonly byWorkload: Map<string, CompiledPolicy[]>;
  readonly byTier: Map<string, CompiledPolicy[]>;
  /** Policies naming a workload by glob: matched one by one, the only linear part. */
  readonly byGlob: CompiledPolicy[];
}

const NONE: readonly CompiledPolicy[] = [];

/**
 * Policies by target, then by exact workload id, by tier and (a short list) by workload glob,
 * so finding the candidates of a request costs a few map reads however many policies the set
 * holds. Candidates come back in file order, which explanations follow.
 */
export class PolicyIndex {
  readonly #targets = new Map<string, TargetPolicies>();

  constructor(policies: readonly CompiledPolicy[]) {
    for (const policy of policies) {
      let entry = this.#targets.get(policy.config.target);
      if (entry === undefined) {
        entry = { byWorkload: new Map(), byTier: new Map(), byGlob: [] };
        this.#targets.set(policy.config.target, entry);
      }
      for (const id of new Set(policy.workloadIds)) push(entry.byWorkload, id, policy);
      for (const tier of new Set(policy.workloadTiers)) push(entry.byTier, tier, policy);
      if (policy.workloadGlobs.length > 0) entry.byGlob.push(policy);
    }
  }

  candidates(target: string, workload: { id: string; tier: string }): readonly CompiledPolicy[] {
    const entry = this.#targets.get(target);
    if (entry === undefined) return NONE;
    const byId = entry.byWorkload.get(workload.id) ?? NONE;
    const byTier = entry.byTier.get(workload.tier) ?? NONE;
    const byGlob =
      entry.byGlob.length === 0
        ? NONE
        : entry.byGlob.filter((p) => p.workloadGlobs.some((g) => g.matches(workload.id)));
    const lists = [byId, byTier, byGlob].filter((list) => list.length > 0);
    if (lists.length === 0) return NONE;
    if (lists.length === 1) return lists[0] as readonly CompiledPolicy[];
    // A policy can match by id and by tier: once, in file order.
    return [...new Set(lists.flat())].sort((a, b) => a.order - b.order);
  }

  /** Every policy naming a workload (by id, tier or glob), on any target, in file order. */
  forWorkload(workload: { id: string; tier: string }): readonly CompiledPolicy[] {
    const all = [...this.#targets.keys()].flatMap((target) => this.candidates(target, workload));
    return all.sort((a, b) => a.order - b.order);
  }
}

function push(map: Map<string, CompiledPolicy[]>, key: string, policy: CompiledPolicy): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [policy]);
  else list.push(policy);
}
