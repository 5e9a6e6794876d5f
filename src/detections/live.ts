import type { BrokerEvent } from '../events/types.js';
import { type ActionDeps, act } from './actions.js';
import type { DetectionEngine } from './engine.js';

export interface LiveOptions extends ActionDeps {
  /** The engine of the configuration in force (rebuilt by the caller on reload). */
  engine: () => DetectionEngine;
  /** Events waiting for evaluation; more are dropped, counted and logged. Default 10,000. */
  maxQueue?: number;
  onDrop?: () => void;
  onFired?: (kind: string, mode: string) => void;
  onError?: (err: unknown) => void;
}

/**
 * The live path: the replica's own events, evaluated off the request path. `offer` (the
 * bus listener) only queues; one worker evaluates in emission order and acts. A full queue
 * drops the event (counted by `onDrop`): issuance never waits for a detection.
 */
export class LiveDetections {
  readonly #options: LiveOptions;
  readonly #max: number;
  #queue: BrokerEvent[] = [];
  #head = 0;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(options: LiveOptions) {
    this.#options = options;
    this.#max = options.maxQueue ?? 10_000;
  }

  get queued(): number {
    return this.#queue.length - this.#head;
  }

  offer(event: BrokerEvent): void {
    if (this.#closed || !this.#options.engine().wants(event)) return;
    if (this.queued >= this.#max) {
      this.#options.onDrop?.();
      return;
    }
    this.#queue.push(event);
    this.#running ??= this.#drain();
  }

  /** Resolves once every queued event has been evaluated and acted on. */
  async settled(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.settled();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#head < this.#queue.length) {
        const event = this.#queue[this.#head] as BrokerEvent;
        this.#head += 1;
        if (this.#head > 1_024 && this.#head * 2 > this.#queue.length) {
          this.#queue = this.#queue.slice(this.#head);
          this.#head = 0;
        }
        try {
          const firings = await this.#options.engine().observe(event);
          for (const firing of firings) {
            this.#options.onFired?.(firing.kind, firing.mode);
            await act(this.#options, firing);
          }
        } catch (err) {
          this.#options.onError?.(err);
        }
      }
    } finally {
      this.#running = undefined;
    }
  }
}
