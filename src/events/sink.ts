import type { BrokerEvent } from './types.js';

/**
 * `required`: issuance fails closed when the sink cannot take its event, and the sink's
 * queue is retried until delivered. `best_effort`: never blocks anything; when its queue is
 * full, events are dropped and every drop is counted.
 */
export type SinkMode = 'required' | 'best_effort';

/** How long a fail-closed emit (issuance) waits for its `required` sinks. */
export const REQUIRED_SINK_WAIT_MS = 5_000;

export type EventFormat = 'json' | 'ocsf';

/** Where events go. `write` receives a batch in seq order and rejects if any is not taken. */
export interface EventSink {
  readonly name: string;
  readonly mode: SinkMode;
  write(events: readonly BrokerEvent[]): Promise<void>;
  close?(): Promise<void>;
}
