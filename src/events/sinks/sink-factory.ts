import type { Cluster, Redis } from 'ioredis';
import type { z } from 'zod';
import type { Metrics } from '../../metrics.js';
import type { EventSink } from '../sink.js';

/**
 * Every sink kind the broker knows. Tables keyed by kind are `Record<SinkKind, …>`, so adding
 * a kind here fails to compile until every table has it.
 */
export const SINK_KINDS = ['stdout', 'redis-stream', 'http', 'syslog'] as const;
export type SinkKind = (typeof SINK_KINDS)[number];

/** The keys of the config file's `events` section, one per kind. */
export type SinkSection = 'stdout' | 'redis_stream' | 'http' | 'syslog';

/** The `events` section as the config file holds it, before each kind has read its entries. */
export type EventsSection = { readonly [Key in SinkSection]?: unknown };

/** What sinks take from the broker around them. */
export interface SinkDeps {
  /** The lease store's client; without one (memory store) there is no Redis-stream sink. */
  redis?: Redis | Cluster | undefined;
  /** `redis.key_prefix`: the event stream's key is `<prefix>:<stream>`. */
  keyPrefix: string;
  /** Where the stdout sink writes; default `process.stdout`. */
  eventsOut?: NodeJS.WritableStream | undefined;
  metrics: Pick<Metrics, 'watchEventStream'>;
}

/** One validated entry; those of list sections carry the sink's `name`. */
export type SinkEntry = { name?: string; [field: string]: unknown };

/** A factory reads one kind's entries under `events` and builds a sink from each. */
export interface SinkFactory<Config extends SinkEntry = SinkEntry> {
  readonly kind: SinkKind;
  /** Where the entries sit: `events.<key>`, one entry or a list of them. */
  readonly section: { readonly key: SinkSection; readonly list: boolean };
  /** One entry as written in the config file (snake_case, durations as text). */
  readonly config: z.ZodType<Config>;
  /** The sink of one validated entry; `undefined` when the entry leaves the sink off. */
  create(config: Config, deps: SinkDeps): EventSink | undefined;
}
