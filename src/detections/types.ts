import type { WorkloadConfig } from '../config/schema.js';
import type { BrokerEvent } from '../events/types.js';
import type { DetectionAction, DetectionKind, DetectionRuleConfig } from './config.js';
import type { DetectionState, Maybe, StateKey } from './state.js';

/** An event that counted toward a firing: enough to find it in the chain. */
export interface EventRef {
  id: string;
  seq: number;
  instance: string;
}

/** What one rule found in one event: the evidence `detection.fired` carries. */
export interface Trigger {
  /** The events behind the firing, oldest first (at most the rule's count). */
  events: EventRef[];
  /** Counts, thresholds, window and whatever else the kind measured. */
  evidence: Record<string, unknown>;
}

/** What a rule sees of an event: the event and the workload it is about. */
export interface Observation {
  event: BrokerEvent;
  workload: WorkloadConfig;
  /** The event's time (ms), the only clock the engine uses. */
  at: number;
  key: StateKey;
  state: DetectionState;
}

/** One kind's evaluation of one event; `undefined` when it does not fire. */
export type RuleCheck = (observation: Observation) => Maybe<Trigger | undefined>;

export interface CompiledRule {
  config: DetectionRuleConfig;
  /** Whether the rule looks at this event type at all (cheap, before any state). */
  watches: ReadonlySet<string>;
  /** Whether the rule covers this workload (ids, globs, tiers). */
  covers(workload: WorkloadConfig): boolean;
  check: RuleCheck;
}

/** A rule that fired on an event, after its cool-down allowed it. */
export interface Firing {
  rule: string;
  kind: DetectionKind;
  workload: string;
  mode: 'enforce' | 'dry_run';
  /** The actions the rule names (taken only under `enforce`). */
  actions: DetectionAction[];
  /** The time of the event that made it fire (ISO 8601). */
  at: string;
  /** That event. */
  trigger: EventRef;
  cooldown_ms: number;
  hold_for_ms: number;
  evidence: Record<string, unknown>;
  events: EventRef[];
}
