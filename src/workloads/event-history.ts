import type { Cluster, Redis } from 'ioredis';
import { fromOcsf } from '../events/ocsf.js';
import { redisStreamSinkSchema } from '../events/sinks/redis-stream/config.js';
import { STREAM_FIELD } from '../events/sinks/redis-stream/index.js';
import type { BrokerEvent } from '../events/types.js';

/** Events recorded since a moment, newest first, read within a bound. */
export interface EventHistory {
  /**
   * The events since `since` (ms) that `accept` keeps, reading at most `maxEntries` records;
   * `truncated` when the bound stopped the read before `since` was reached.
   */
  since(
    since: number,
    maxEntries: number,
    accept: (event: BrokerEvent) => boolean,
  ): Promise<{ events: BrokerEvent[]; truncated: boolean }>;
}

const PAGE = 1_000;

/**
 * The Redis stream sink read backwards (`XREVRANGE`) from now to `since`, by entry id (the
 * stream's ids are the write time in ms). Native and OCSF entries are read alike.
 */
export class RedisStreamHistory implements EventHistory {
  readonly #redis: Redis | Cluster;
  readonly #stream: string;

  constructor(redis: Redis | Cluster, stream: string) {
    this.#redis = redis;
    this.#stream = stream;
  }

  async since(
    since: number,
    maxEntries: number,
    accept: (event: BrokerEvent) => boolean,
  ): Promise<{ events: BrokerEvent[]; truncated: boolean }> {
    const events: BrokerEvent[] = [];
    let end = '+';
    let read = 0;
    const floor = String(Math.max(0, Math.floor(since)));
    while (read < maxEntries) {
      const count = Math.min(PAGE, maxEntries - read);
      const page = await this.#redis.xrevrange(this.#stream, end, floor, 'COUNT', count);
      read += page.length;
      for (const [, fields] of page) {
        const at = fields.indexOf(STREAM_FIELD);
        const event = at >= 0 && at % 2 === 0 ? parseEntry(fields[at + 1]) : undefined;
        if (event !== undefined && accept(event)) events.push(event);
      }
      const last = page.at(-1);
      if (last === undefined || page.length < count) return { events, truncated: false };
      end = `(${last[0]}`;
    }
    // The bound was reached: anything older is unread unless the stream has no more.
    const more = await this.#redis.xrevrange(this.#stream, end, floor, 'COUNT', 1);
    return { events, truncated: more.length > 0 };
  }
}

function parseEntry(text: string | undefined): BrokerEvent | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    if ('class_uid' in value) return fromOcsf(value);
    return 'type' in value ? (value as BrokerEvent) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The history a broker can read back: its Redis stream sink when one is enabled (the entry
 * was validated with the sink's schema when the sinks were built), else none.
 */
export function streamHistory(
  redis: Redis | Cluster | undefined,
  keyPrefix: string,
  entry: unknown,
): EventHistory | undefined {
  if (redis === undefined) return undefined;
  const parsed = redisStreamSinkSchema.safeParse(entry ?? {});
  if (!parsed.success || !parsed.data.enabled) return undefined;
  return new RedisStreamHistory(redis, `${keyPrefix}:${parsed.data.stream}`);
}

/** `{ eventHistory }` when there is one (the deps' optional field, exactly). */
export function optionalHistory(history: EventHistory | undefined): {
  eventHistory?: EventHistory;
} {
  return history === undefined ? {} : { eventHistory: history };
}
