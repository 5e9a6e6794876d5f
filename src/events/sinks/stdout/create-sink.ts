import type { EventFormat, EventSink, SinkMode } from '../../sink.js';
import type { BrokerEvent } from '../../types.js';
import { serializeEvent } from '../lib/serialize-event.js';

export interface StdoutSinkOptions {
  format?: EventFormat;
  mode?: SinkMode;
  /** Defaults to `process.stdout`. */
  stream?: NodeJS.WritableStream;
  name?: string;
}

/** One JSON document per line, native or OCSF, for a log collector reading stdout. */
export function stdoutSink(options: StdoutSinkOptions = {}): EventSink {
  const format = options.format ?? 'json';
  const stream = options.stream ?? process.stdout;
  return {
    name: options.name ?? 'stdout',
    mode: options.mode ?? 'best_effort',
    write(events: readonly BrokerEvent[]): Promise<void> {
      const lines = events.map((event) => `${serializeEvent(event, format)}\n`).join('');
      // The callback fires once the chunk is handed to the OS, so a slow reader pushes
      // back on the bus queue instead of growing the stream's buffer without bound.
      return new Promise((resolve, reject) => {
        stream.write(lines, (err) => (err ? reject(err) : resolve()));
      });
    },
  };
}
