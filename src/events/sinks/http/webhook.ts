import type { EventFormat, EventSink, SinkMode } from '../../sink.js';
import type { BrokerEvent } from '../../types.js';
import { serializeEvent } from '../lib/serialize-event.js';
import type { Exchange } from './lib/exchange.js';

/** Request header a webhook receiver can use to spot a batch it already took: `<first>-<last>` seq. */
export const BATCH_HEADER = 'x-jit-broker-batch';

export interface WebhookOptions {
  name: string;
  mode: SinkMode;
  format: EventFormat;
  url: URL;
  headers: Headers;
  timeoutMs: number;
}

/** POSTs each batch as one JSON array; any 2xx takes it. */
export function webhookSink(exchange: Exchange, options: WebhookOptions): EventSink {
  const { name, mode, format, url, timeoutMs } = options;
  return {
    name,
    mode,
    async write(events: readonly BrokerEvent[]): Promise<void> {
      const first = events[0];
      const last = events.at(-1);
      if (first === undefined || last === undefined) return;
      const headers = new Headers(options.headers);
      headers.set(BATCH_HEADER, `${first.seq}-${last.seq}`);
      const body = `[${events.map((event) => serializeEvent(event, format)).join(',')}]`;
      const { status } = await exchange.post(url, headers, body, 'webhook POST', timeoutMs);
      // The body is not quoted: a receiver may echo the request, and the sink may not know
      // what it holds.
      if (status < 200 || status > 299) {
        throw exchange.fail(`webhook answered HTTP ${status}`, { status });
      }
    },
    async close(): Promise<void> {
      exchange.close();
    },
  };
}
