import type { EventSink, SinkMode } from '../../src/events/sink.js';
import type { BrokerEvent } from '../../src/events/types.js';

/**
 * An in-memory sink that can be taken down (`failing`) or made to hang (`hold`), to drive
 * the bus through outages. It keeps every accepted batch, in the order accepted.
 */
export class MemorySink implements EventSink {
  readonly name: string;
  readonly mode: SinkMode;
  readonly batches: BrokerEvent[][] = [];
  failing = false;
  attempts = 0;
  closed = false;
  #gate: Promise<void> | undefined;

  constructor(name: string, mode: SinkMode) {
    this.name = name;
    this.mode = mode;
  }

  get events(): BrokerEvent[] {
    return this.batches.flat();
  }

  get seqs(): number[] {
    return this.events.map((event) => event.seq);
  }

  /** Writes hang until the returned function is called. */
  hold(): () => void {
    let release = () => {};
    this.#gate = new Promise<void>((resolve) => {
      release = () => {
        this.#gate = undefined;
        resolve();
      };
    });
    return release;
  }

  async write(events: readonly BrokerEvent[]): Promise<void> {
    this.attempts += 1;
    if (this.#gate !== undefined) await this.#gate;
    if (this.failing) throw new Error(`${this.name} is down`);
    this.batches.push([...events]);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
