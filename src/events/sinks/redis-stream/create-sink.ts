import type { Cluster, Redis } from 'ioredis';
import type { EventFormat, EventSink, SinkMode } from '../../sink.js';
import type { BrokerEvent } from '../../types.js';
import { serializeEvent } from '../lib/serialize-event.js';

export interface RedisStreamSinkOptions {
  client: Redis | Cluster;
  /** Stream key. */
  stream: string;
  /** Entries older than this (ms) are trimmed on every write. */
  retentionMs: number;
  /** Entries beyond this many, oldest first, are trimmed on every write. Default 1,000,000. */
  maxEntries?: number;
  format?: EventFormat;
  mode?: SinkMode;
  name?: string;
  now?: () => number;
}

/** Field under which each stream entry carries its event. */
export const STREAM_FIELD = 'event';

/** Default of `maxEntries`: some 600 MB of Redis memory at about 0.6 KB an entry. */
export const DEFAULT_MAX_ENTRIES = 1_000_000;

/**
 * The system of record: one stream entry per event. Trimmed by age (`MINID`), so that a
 * burst such as the kill switch does not push unread history out of the window, and by
 * count (`MAXLEN`) far above any normal window, so that nothing can grow the stream without
 * bound in the meantime (the bus already keeps an anonymous flood's share small; the count
 * is the backstop). `~` lets Redis trim whole macro-nodes only, which is far cheaper: it
 * keeps at least the window and the count, and at most one node (`stream-node-max-entries`,
 * 100 by default) more than the count.
 */
export function redisStreamSink(options: RedisStreamSinkOptions): EventSink {
  const { client, stream, retentionMs } = options;
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  if (!(retentionMs > 0)) throw new TypeError('redisStreamSink: retentionMs must be positive');
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new TypeError('redisStreamSink: maxEntries must be a positive integer');
  }
  const format = options.format ?? 'json';
  const now = options.now ?? Date.now;
  return {
    name: options.name ?? 'redis_stream',
    mode: options.mode ?? 'required',
    async write(events: readonly BrokerEvent[]): Promise<void> {
      if (events.length === 0) return;
      const minId = String(Math.max(0, Math.floor(now() - retentionMs)));
      // MULTI so a batch lands whole or not at all: a half-written batch would be written
      // again on retry and show up in the stream as duplicated seqs.
      const transaction = client.multi();
      for (const event of events) {
        transaction.xadd(
          stream,
          'MINID',
          '~',
          minId,
          '*',
          STREAM_FIELD,
          serializeEvent(event, format),
        );
      }
      // XADD takes one trimming strategy; the count goes in the same transaction.
      transaction.xtrim(stream, 'MAXLEN', '~', maxEntries);
      const results = await transaction.exec();
      if (results === null) throw new Error(`XADD to ${stream} was aborted`);
      for (const [err] of results) if (err) throw err;
    },
  };
}
