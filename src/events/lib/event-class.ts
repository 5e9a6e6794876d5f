import type { EventType } from '../types.js';

/**
 * Events whose volume anyone who can reach the port controls: every refused token is one.
 * A sink holds only a small share of them (`EventBusOptions.maxSheddable`), apart from its
 * queue for everything else, and beyond that share they are shed before they are chained
 * and counted, so a flood of them can neither delay nor crowd out issuance, revocation or
 * the chain's checkpoints.
 *
 * A set rather than a `Record<EventType, …>`: a new event type must be essential until
 * someone decides it may be shed, and an omission should err that way.
 */
const SHEDDABLE: ReadonlySet<EventType> = new Set<EventType>(['auth.failed']);

export function isSheddable(type: EventType): boolean {
  return SHEDDABLE.has(type);
}
