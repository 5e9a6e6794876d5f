import type { Cluster, Redis } from 'ioredis';
import type { EventFormat, EventSink, SinkMode } from '../sink.js';
import type { BrokerEvent } from '../types.js';
import { serializeEvent } from './stdout.js';

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

export interface StreamLag {
  /** Entries delivered to the group's consumers and not yet acknowledged. */
  pending: number;
  /** Entries not yet delivered to the group; `null` when Redis cannot tell (after trims). */
  lag: number | null;
  lastDeliveredId: string;
}

/** A consumer group's backlog on a stream, from `XINFO GROUPS`; `null` if there is no such group. */
export async function streamLag(
  client: Redis | Cluster,
  stream: string,
  group: string,
): Promise<StreamLag | null> {
  const found = (await streamGroups(client, stream)).find((g) => g.group === group);
  if (!found) return null;
  const { group: _name, ...lag } = found;
  return lag;
}

/** The backlog of every consumer group on a stream (none when the stream does not exist). */
export async function streamGroups(
  client: Redis | Cluster,
  stream: string,
): Promise<(StreamLag & { group: string })[]> {
  let groups: unknown;
  try {
    groups = await client.xinfo('GROUPS', stream);
  } catch (err) {
    if (err instanceof Error && /no such key/i.test(err.message)) return [];
    throw err;
  }
  if (!Array.isArray(groups)) return [];
  return groups.map((entry) => {
    const fields = pairs(entry);
    const lag = fields.get('lag');
    return {
      group: String(fields.get('name')),
      pending: Number(fields.get('pending') ?? 0),
      lag: lag === null || lag === undefined ? null : Number(lag),
      lastDeliveredId: String(fields.get('last-delivered-id') ?? '0-0'),
    };
  });
}

// XINFO replies are flat [field, value, field, value, ...] arrays.
function pairs(entry: unknown): Map<string, unknown> {
  const map = new Map<string, unknown>();
  if (!Array.isArray(entry)) return map;
  for (let i = 0; i + 1 < entry.length; i += 2) map.set(String(entry[i]), entry[i + 1]);
  return map;
}
