import type { WorkloadConfig } from '../config/schema.js';
import type { BrokerEvent } from '../events/types.js';
import { compileGlob, type Glob } from '../lib/glob.js';
import { compileRule } from './compile.js';
import type { DetectionRuleConfig } from './config.js';
import { attributable } from './rules/auth-failures.js';
import { andThen, type DetectionState, type Maybe, type StateKey } from './state.js';
import type { CompiledRule, Firing } from './types.js';

/**
 * The only events a detection reads: what workloads asked for, how their tokens fared, and
 * a revocation the target did not confirm (an incident: the credential may still work).
 * Its own output (`detection.fired`), the kill switch's (`workload.revoked`,
 * `lease.revoked`, …) and operator actions are never inputs; the kind that reads
 * `revocation.unverified` may only alert, so a firing cannot feed itself.
 */
export const INPUT_TYPES: ReadonlySet<string> = new Set([
  'credential.issued',
  'credential.denied',
  'auth.failed',
  'revocation.unverified',
]);

/** Denials that follow an incident control rather than the workload's own asking. */
const CONTROL_DENIALS: ReadonlySet<string> = new Set(['workload_blocked', 'issuance_frozen']);

/** The answer of an event that fired nothing (shared, never changed). */
const NO_FIRINGS: Firing[] = [];

export interface EngineOptions {
  rules: readonly DetectionRuleConfig[];
  workloads: readonly WorkloadConfig[];
  state: DetectionState;
}

/**
 * Runs the configured rules over events, one event at a time, in the order given. Pure but
 * for the state store: the time is the event's, so the same events through the memory store
 * (replay) and the Redis store (live) fire the same rules on the same events. A rule that
 * fires starts its cool-down for that workload; until it passes, the rule neither fires nor
 * acts again for it (one incident, one action).
 */
export class DetectionEngine {
  readonly #rules: CompiledRule[];
  readonly #state: DetectionState;
  readonly #workloads: ReadonlyMap<string, WorkloadConfig>;
  readonly #subjects: { workload: WorkloadConfig; subject: Glob | string }[];
  /** Rules by event type and workload: most events need no rule at all. */
  readonly #applicable = new Map<string, CompiledRule[]>();
  readonly #keys = new Map<string, Map<string, StateKey>>();

  constructor(options: EngineOptions) {
    this.#rules = options.rules.map(compileRule);
    this.#state = options.state;
    this.#workloads = new Map(options.workloads.map((w) => [w.id, w]));
    this.#subjects = options.workloads.map((workload) => ({
      workload,
      subject: workload.subject.includes('*') ? compileGlob(workload.subject) : workload.subject,
    }));
  }

  get size(): number {
    return this.#rules.length;
  }

  /** Whether any rule could read this event: the cheap test the live path runs inline. */
  wants(event: Pick<BrokerEvent, 'type' | 'actor'>): boolean {
    return this.#rules.length > 0 && INPUT_TYPES.has(event.type) && event.actor === undefined;
  }

  /**
   * The firings of one event, in rule order. With the memory store the answer is there at
   * once (no promise); with Redis it comes once the event's operations have run. `time` is
   * the event's time in ms when the caller has parsed it already (replay sorts by it).
   */
  observe(event: BrokerEvent, time?: number): Maybe<Firing[]> {
    if (!this.wants(event)) return [];
    if (event.type === 'credential.denied' && CONTROL_DENIALS.has(event.reason ?? '')) return [];
    const workload = this.#workloadOf(event);
    if (workload === undefined) return [];
    const rules = this.#rulesFor(event.type, workload);
    if (rules.length === 0) return [];
    const at = time ?? Date.parse(event.time);
    if (!Number.isFinite(at)) return [];
    // Most events fire nothing: no array is made for them (replay runs millions).
    let results: Maybe<Firing | undefined>[] | undefined;
    let waiting = false;
    for (const rule of rules) {
      const result = this.#evaluate(rule, event, workload, at);
      if (result === undefined) continue;
      if (result instanceof Promise) waiting = true;
      results ??= [];
      results.push(result);
    }
    if (results === undefined) return NO_FIRINGS;
    if (waiting) {
      return Promise.all(results).then((all) => all.filter((f): f is Firing => f !== undefined));
    }
    return results as Firing[];
  }

  #evaluate(
    rule: CompiledRule,
    event: BrokerEvent,
    workload: WorkloadConfig,
    at: number,
  ): Maybe<Firing | undefined> {
    const { config } = rule;
    const key = this.#keyOf(config.name, workload.id);
    const checked = rule.check({ event, workload, at, key, state: this.#state });
    return andThen(checked, (trigger) => {
      if (trigger === undefined) return undefined;
      return andThen(
        this.#state.startCooldown(key, at, config.cooldown),
        (started): Firing | undefined =>
          started
            ? {
                rule: config.name,
                kind: config.kind,
                workload: workload.id,
                mode: config.mode,
                actions: [...config.actions],
                at: event.time,
                trigger: { id: event.id, seq: event.seq, instance: event.instance },
                cooldown_ms: config.cooldown,
                hold_for_ms: config.hold_for,
                evidence: trigger.evidence,
                events: trigger.events,
              }
            : undefined,
      );
    });
  }

  /** One key object per rule and workload, so stores can remember what they derive from it. */
  #keyOf(rule: string, workload: string): StateKey {
    let byWorkload = this.#keys.get(rule);
    if (byWorkload === undefined) {
      byWorkload = new Map();
      this.#keys.set(rule, byWorkload);
    }
    let key = byWorkload.get(workload);
    if (key === undefined) {
      // Bounded by configured rules × configured workloads.
      key = { rule, workload };
      byWorkload.set(workload, key);
    }
    return key;
  }

  #rulesFor(type: string, workload: WorkloadConfig): CompiledRule[] {
    const id = `${type} ${workload.id}`;
    let rules = this.#applicable.get(id);
    if (rules === undefined) {
      rules = this.#rules.filter((r) => r.watches.has(type) && r.covers(workload));
      // Bounded by configured workloads × the three input types.
      this.#applicable.set(id, rules);
    }
    return rules;
  }

  /**
   * The event's workload, or for a refused token the workload its verified issuer and
   * subject map to. A refused token never names a workload by `workload` (the caller is
   * unauthenticated): one that did would be ignored.
   */
  #workloadOf(event: BrokerEvent): WorkloadConfig | undefined {
    if (event.type !== 'auth.failed') {
      return event.workload === undefined ? undefined : this.#workloads.get(event.workload);
    }
    // Only a subject the token's verified signature vouches for: a forged one must never
    // count toward (and so act against) the workload it names.
    if (!attributable(event)) return undefined;
    const { subject = '', issuer } = event;
    return this.#subjects.find(
      (s) =>
        s.workload.issuer === issuer &&
        (typeof s.subject === 'string' ? s.subject === subject : s.subject.test(subject)),
    )?.workload;
  }
}
