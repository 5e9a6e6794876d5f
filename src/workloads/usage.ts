import { canonicalize } from '../events/canonical.js';
import type { Lease } from '../leases/types.js';

/** How often something was used in the window, and when last (ISO time). */
export interface UseCount {
  count: number;
  last_used: string;
}

export interface Usage {
  by_target: (UseCount & { target: string })[];
  by_scope: (UseCount & { target: string; scope: unknown })[];
  by_tool: (UseCount & { tool: string })[];
  by_intent: (UseCount & { intent: string })[];
  by_policy: (UseCount & { policy: string; target: string })[];
}

interface Tally<K> {
  key: K;
  count: number;
  last: number;
}

/**
 * What a workload requested and received: its leases counted by target, scope, tool, intent
 * and deciding policy, each with its last use. Only metadata is read (never the sealed handle).
 */
export function tallyUsage(leases: readonly Lease[]): Usage {
  const targets = new Map<string, Tally<{ target: string }>>();
  const scopes = new Map<string, Tally<{ target: string; scope: unknown }>>();
  const tools = new Map<string, Tally<{ tool: string }>>();
  const intents = new Map<string, Tally<{ intent: string }>>();
  const policies = new Map<string, Tally<{ policy: string; target: string }>>();
  for (const lease of leases) {
    const at = lease.createdAt;
    count(targets, lease.target, { target: lease.target }, at);
    count(
      scopes,
      `${lease.target}\n${canonicalize(lease.scope)}`,
      { target: lease.target, scope: lease.scope },
      at,
    );
    if (lease.task.tool !== undefined) count(tools, lease.task.tool, { tool: lease.task.tool }, at);
    count(intents, lease.task.intent, { intent: lease.task.intent }, at);
    count(policies, lease.policy, { policy: lease.policy, target: lease.target }, at);
  }
  return {
    by_target: rows(targets),
    by_scope: rows(scopes),
    by_tool: rows(tools),
    by_intent: rows(intents),
    by_policy: rows(policies),
  };
}

function count<K>(map: Map<string, Tally<K>>, id: string, key: K, at: number): void {
  const entry = map.get(id);
  if (entry === undefined) map.set(id, { key, count: 1, last: at });
  else {
    entry.count += 1;
    entry.last = Math.max(entry.last, at);
  }
}

/** Most used first, then most recent. */
function rows<K>(map: Map<string, Tally<K>>): (K & UseCount)[] {
  return [...map.values()]
    .sort((a, b) => b.count - a.count || b.last - a.last)
    .map((t) => ({ ...t.key, count: t.count, last_used: new Date(t.last).toISOString() }));
}
