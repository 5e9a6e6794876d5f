import type { BrokerEvent } from '../../events/types.js';
import { andThen, type Maybe } from '../state.js';
import type { Observation, Trigger } from '../types.js';

/**
 * The three counting kinds: an event that matches enters the rule's window for its
 * workload, and the rule fires when the window holds `count` of them (within `window` of
 * the newest). The window keeps at most `count` entries: exactly the evidence.
 */
export function countInWindow(
  o: Observation,
  count: number,
  windowMs: number,
  extra: Record<string, unknown> = {},
): Maybe<Trigger | undefined> {
  const { event } = o;
  const added = o.state.addToWindow(
    o.key,
    { id: event.id, seq: event.seq, instance: event.instance, at: o.at },
    windowMs,
    count,
  );
  return andThen(added, (entries) => {
    if (entries.length < count) return undefined;
    const first = entries[0];
    return {
      events: entries.map(({ id, seq, instance }) => ({ id, seq, instance })),
      evidence: {
        count: entries.length,
        threshold: count,
        window_ms: windowMs,
        ...(first === undefined ? {} : { first_at: new Date(first.at).toISOString() }),
        ...extra,
      },
    };
  });
}

/** Denial codes that say the request asked for more than its ceiling or its tier. */
export const ESCALATION_CODES: ReadonlySet<string> = new Set([
  'scope_exceeds_ceiling',
  'tier_exceeded',
]);

/** The codes a `credential.denied` records: its `reason` and each `detail.reasons[].code`. */
export function denialCodes(event: BrokerEvent): string[] {
  const codes = event.reason === undefined ? [] : [event.reason];
  const reasons = event.detail?.reasons;
  if (Array.isArray(reasons)) {
    for (const r of reasons) {
      const code = (r as { code?: unknown } | null)?.code;
      if (typeof code === 'string') codes.push(code);
    }
  }
  return codes;
}
