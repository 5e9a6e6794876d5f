import { ConfigError, formatIssues } from '../../config/load.js';
import type { EventSink } from '../sink.js';
import { sinkFactories } from './registry.js';
import {
  type EventsSection,
  SINK_KINDS,
  type SinkDeps,
  type SinkEntry,
  type SinkKind,
} from './sink-factory.js';

/** One entry of the `events` section, read by its kind's schema (defaults filled in). */
export interface SinkConfig {
  kind: SinkKind;
  /** Where the entry sits in the config file: `events.http.0`. */
  path: string;
  config: SinkEntry;
}

/**
 * Reads every sink entry of `events` with its kind's schema. Issues name the field's path
 * (`events.http.0.url: …`) and the rule, never the value (zod does not echo input), so a
 * token in a bad entry cannot leak through the message.
 */
export function readSinkConfigs(events: EventsSection): { sinks: SinkConfig[]; issues: string[] } {
  const sinks: SinkConfig[] = [];
  const issues: string[] = [];
  for (const kind of SINK_KINDS) {
    const factory = sinkFactories[kind];
    const { key, list } = factory.section;
    const value = events[key] ?? (list ? [] : {});
    if (list && !Array.isArray(value)) {
      issues.push(`events.${key}: expected a list`);
      continue;
    }
    const entries: [unknown, (string | number)[]][] = Array.isArray(value)
      ? value.map((entry, i) => [entry, ['events', key, i]])
      : [[value, ['events', key]]];
    for (const [entry, path] of entries) {
      const parsed = factory.config.safeParse(entry);
      if (parsed.success) sinks.push({ kind, path: path.join('.'), config: parsed.data });
      else issues.push(...formatIssues(parsed.error, path));
    }
  }
  // A name keys the sink's statistics and its errors, whatever its kind.
  const names = sinks.flatMap((sink) => sink.config.name ?? []);
  if (new Set(names).size !== names.length) issues.push('events.http: sink names must be unique');
  return { sinks, issues };
}

/**
 * Builds every configured sink from the registry, in `SINK_KINDS` order (stdout, the Redis
 * stream, HTTP, syslog). Throws a ConfigError naming each bad field, the same issues the
 * runtime reports, so what `config validate` passes is what starts.
 */
export function createSinks(events: EventsSection, deps: SinkDeps): EventSink[] {
  const { sinks: configs, issues } = readSinkConfigs(events);
  if (issues.length > 0) throw new ConfigError(issues);
  const sinks: EventSink[] = [];
  for (const { kind, path, config } of configs) {
    try {
      const sink = sinkFactories[kind].create(config, deps);
      if (sink !== undefined) sinks.push(sink);
    } catch (err) {
      // Nothing is connected before the first write, but what was built is let go cleanly.
      for (const built of sinks) void built.close?.();
      throw new ConfigError([`${path}: ${err instanceof Error ? err.message : String(err)}`]);
    }
  }
  return sinks;
}
