import type { BrokerEvent } from './types.js';

/**
 * `required`: issuance fails closed when the sink cannot take its event, and the sink's
 * queue is retried until delivered. `best_effort`: never blocks anything; when its queue is
 * full, events are dropped and every drop is counted.
 */
export const SINK_MODES = ['required', 'best_effort'] as const;
export type SinkMode = (typeof SINK_MODES)[number];

/** How long a fail-closed emit (issuance) waits for its `required` sinks. */
export const REQUIRED_SINK_WAIT_MS = 5_000;

/** The event as the broker writes it, or mapped onto OCSF (`ocsf.ts`). */
export const EVENT_FORMATS = ['json', 'ocsf'] as const;
export type EventFormat = (typeof EVENT_FORMATS)[number];

/** Where events go. `write` receives a batch in seq order and rejects if any is not taken. */
export interface EventSink {
  readonly name: string;
  readonly mode: SinkMode;
  write(events: readonly BrokerEvent[]): Promise<void>;
  close?(): Promise<void>;
}
