import type { PolicyEngine } from '../policy/engine.js';

/** One policy naming a workload, as a report shows it. */
export interface GrantView {
  policy: string;
  effect: 'allow' | 'deny';
  mode: 'enforce' | 'dry_run';
  target: string;
  /** The ceiling as configured (allow policies). */
  ceiling?: unknown;
  intents: string[];
  tools?: string[];
  tool_ceilings?: Record<string, unknown>;
  default_ttl_seconds?: number;
  max_ttl_seconds?: number;
}

/**
 * What the policies allow a workload: every policy that names it by id, tier or glob (the
 * policy index's own matching), in file order.
 */
export function grantsOf(
  policy: PolicyEngine,
  workload: { id: string; tier: string },
): GrantView[] {
  return policy.policiesFor(workload).map((p) => {
    const c = p.config;
    return {
      policy: p.name,
      effect: p.effect,
      mode: p.mode,
      target: c.target,
      ...(c.allow === undefined ? {} : { ceiling: c.allow }),
      intents: [...c.intents],
      ...(c.tools === undefined ? {} : { tools: [...c.tools] }),
      ...(c.tool_ceilings === undefined ? {} : { tool_ceilings: c.tool_ceilings }),
      ...(c.default_ttl === undefined ? {} : { default_ttl_seconds: c.default_ttl / 1000 }),
      ...(c.max_ttl === undefined ? {} : { max_ttl_seconds: c.max_ttl / 1000 }),
    };
  });
}
