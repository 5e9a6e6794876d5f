import { namedPath, nameIssue } from '../config/issue-path.js';
import { workloadSchema } from '../config/schema.js';
import { fromOcsf } from '../events/ocsf.js';
import type { BrokerEvent } from '../events/types.js';
import { replaceControlCharacters } from '../lib/control-characters.js';
import { type DetectionRuleConfig, detectionReferenceIssues, detectionsSchema } from './config.js';
import { DetectionEngine } from './engine.js';
import { MemoryDetectionState } from './memory-state.js';
import type { Firing } from './types.js';

/** The sections of a configuration a replay reads (no secret needs resolving). */
export interface ReplayRules {
  rules: DetectionRuleConfig[];
  workloads: ReturnType<typeof workloadSchema.parse>[];
}

/**
 * Reads `detections` and `workloads` from a parsed configuration file, with the same
 * checks `config validate` applies to them; throws the issues, each naming its field.
 */
export function replayRules(tree: unknown): ReplayRules {
  const root = (tree ?? {}) as { detections?: unknown; workloads?: unknown };
  const issues: string[] = [];
  const rules = detectionsSchema.safeParse(root.detections ?? []);
  if (!rules.success) {
    for (const issue of rules.error.issues) {
      issues.push(`${namedPath(['detections', ...issue.path], root)}: ${issue.message}`);
    }
  }
  const workloads = workloadSchema.array().safeParse(root.workloads ?? []);
  if (!workloads.success) {
    for (const issue of workloads.error.issues) {
      issues.push(`${namedPath(['workloads', ...issue.path], root)}: ${issue.message}`);
    }
  }
  if (rules.success && workloads.success) {
    issues.push(
      ...detectionReferenceIssues(rules.data, workloads.data).map((i) => nameIssue(i, root)),
    );
  }
  if (issues.length > 0 || !rules.success || !workloads.success)
    throw new ReplayConfigError(issues);
  return { rules: rules.data, workloads: workloads.data };
}

export class ReplayConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(issues.join('\n'));
  }
}

/** One exported line (native JSON or OCSF) as an event; undefined for anything else. */
export function eventFromLine(line: string): BrokerEvent | undefined {
  // No copy of the line to test it for blanks: JSON.parse skips whitespace and refuses a
  // blank line like any other that is not JSON.
  if (line.length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if ('class_uid' in value) return fromOcsf(value) as BrokerEvent | undefined;
  const event = value as Partial<BrokerEvent>;
  if (typeof event.type !== 'string' || typeof event.time !== 'string') return undefined;
  return event as BrokerEvent;
}

export interface ReplayResult {
  firings: Firing[];
  /** Events read, and those at or after `since`. */
  read: number;
  replayed: number;
}

/**
 * Runs the rules over recorded events with the memory state, in time order (replicas'
 * chains interleave in an export), and answers every firing as the live path would have
 * recorded it: the same rules, the same cool-downs, the events' own time.
 */
export async function replay(
  config: ReplayRules,
  events: Iterable<BrokerEvent>,
  since?: number,
): Promise<ReplayResult> {
  const engine = new DetectionEngine({
    rules: config.rules,
    workloads: config.workloads,
    state: new MemoryDetectionState(),
  });
  const kept: { event: BrokerEvent; at: number }[] = [];
  let read = 0;
  let replayed = 0;
  for (const event of events) {
    read += 1;
    const at = Date.parse(event.time);
    if (since !== undefined && !(at >= since)) continue;
    replayed += 1;
    // Only what a rule may read is sorted and kept; its time is parsed once.
    if (engine.wants(event)) kept.push({ event, at });
  }
  // Stable: events of one chain keep their order.
  kept.sort((a, b) => a.at - b.at);
  const firings: Firing[] = [];
  for (const { event, at } of kept) {
    const observed = engine.observe(event, at);
    for (const firing of observed instanceof Promise ? await observed : observed) {
      firings.push(firing);
    }
  }
  return { firings, read, replayed };
}

/**
 * One line per firing: when, which rule, whose, what it would have done, on which evidence.
 * Its strings come from the replayed file: control characters are replaced, so none of them
 * drives the terminal it is printed on or forges a second line.
 */
export function firingLine(f: Firing): string {
  const evidence = Object.entries(f.evidence)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const actions = f.mode === 'dry_run' ? `dry_run (${f.actions.join(',')})` : f.actions.join(',');
  return replaceControlCharacters(
    `${f.at}  ${f.rule} (${f.kind})  workload=${f.workload}  would=${actions}  trigger=${f.trigger.id}  ${evidence}`,
  );
}
