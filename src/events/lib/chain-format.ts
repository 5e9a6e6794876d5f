import { hash } from 'node:crypto';
import { canonicalize } from '../canonical.js';
import type { BrokerEvent, EventType } from '../types.js';

/** What genesis (seq 0) carries as `prev`. */
export const GENESIS_PREV = '0'.repeat(64);

/** The only events that carry `sig`: the chain's start and its checkpoints. */
export const SIGNED_TYPES: ReadonlySet<EventType> = new Set(['chain.genesis', 'chain.checkpoint']);

/** SHA-256 (hex) of an event's canonical form without `sig`: the next event's `prev`. */
export function eventHash(event: BrokerEvent): string {
  return sha256(canonicalize(withoutSig(event)));
}

export function withoutSig(event: BrokerEvent): Omit<BrokerEvent, 'sig'> {
  const { sig: _sig, ...content } = event;
  return content;
}

export function sha256(text: string): string {
  return hash('sha256', text, 'hex');
}

/** The checkpoint the bus signs as it closes: the chain ends with it and nothing follows. */
export function isFinalCheckpoint(event: BrokerEvent): boolean {
  return event.type === 'chain.checkpoint' && event.detail?.final === true;
}
