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
  format?: EventFormat;
  mode?: SinkMode;
  name?: string;
  now?: () => number;
}

/** Field under which each stream entry carries its event. */
export const STREAM_FIELD = 'event';

/**
 * The system of record: one stream entry per event. Trimming is by age (`MINID`), not by
 * count, so a burst such as the kill switch cannot push unread history out of the window.
 * `~` lets Redis trim whole macro-nodes only, which is far cheaper and keeps at least the
 * retention window.
 */
export function redisStreamSink(options: RedisStreamSinkOptions): EventSink {
  const { client, stream, retentionMs } = options;
  if (!(retentionMs > 0)) throw new TypeError('redisStreamSink: retentionMs must be positive');
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
      const results = await transaction.exec();
      if (results === null) throw new Error(`XADD to ${stream} was aborted`);
      for (const [err] of results) if (err) throw err;
    },
  };
}
