import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventSink } from '../../sink.js';
import type { BrokerEvent } from '../../types.js';
import { serializeEvent } from '../lib/serialize-event.js';
import { positive } from './lib/check.js';
import { type Exchange, HttpSinkError, isRecord } from './lib/exchange.js';
import type { WebhookOptions } from './webhook.js';

export interface HecOptions {
  /** `sourcetype` defaults to `_json`, `source` to `jit-broker`. */
  index?: string;
  source?: string;
  sourcetype?: string;
  /** Indexer acknowledgement: a batch counts as written only once Splunk acks it. */
  ack: boolean;
  /** How long to poll /services/collector/ack before failing the write. */
  ackTimeoutMs: number;
  /** Default 200. */
  ackPollMs?: number;
  /** X-Splunk-Request-Channel (a UUID); generated with randomUUID() when absent. */
  channel?: string;
}

/**
 * What a webhook takes, with `url` the HEC base URL (e.g. https://splunk:8088; a proxy's path
 * prefix is kept) and `headers` carrying `Authorization: Splunk <token>`.
 */
export interface SplunkHecSinkOptions extends WebhookOptions {
  hec: HecOptions | undefined;
}

const HEC_EVENT_PATH = '/services/collector/event';
const HEC_ACK_PATH = '/services/collector/ack';
const CHANNEL_HEADER = 'x-splunk-request-channel';
const DEFAULT_SOURCE = 'jit-broker';
const DEFAULT_SOURCETYPE = '_json';
const DEFAULT_ACK_POLL_MS = 200;
/** HEC's `text` is quoted in errors; a hostile or broken server should not fill the logs. */
const MAX_TEXT_CHARS = 200;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Splunk's HTTP Event Collector: one envelope per event, newline-separated, in one POST.
 * With `ack`, a write resolves only once the indexer acknowledged the batch, polling
 * /services/collector/ack until `ackTimeoutMs`.
 */
export function splunkHecSink(exchange: Exchange, options: SplunkHecSinkOptions): EventSink {
  const { name, mode, format, timeoutMs, hec } = options;
  const ack = hec?.ack ?? false;
  const ackTimeoutMs = hec?.ackTimeoutMs ?? 0;
  const ackPollMs = hec?.ackPollMs ?? DEFAULT_ACK_POLL_MS;
  if (ack) {
    positive(name, 'hec.ackTimeoutMs', ackTimeoutMs);
    positive(name, 'hec.ackPollMs', ackPollMs);
  }
  if (hec?.channel !== undefined && !UUID.test(hec.channel)) {
    throw new TypeError(`httpSink ${name}: hec.channel must be a UUID`);
  }
  // Acks are numbered per channel, so one sink keeps one channel for its lifetime. The bus
  // has at most one batch in flight per sink, so acks are never awaited concurrently.
  const channel = hec?.channel ?? randomUUID();
  const headers = new Headers(options.headers);
  if (ack) headers.set(CHANNEL_HEADER, channel);
  const eventUrl = hecUrl(options.url, HEC_EVENT_PATH);
  const ackUrl = hecUrl(options.url, HEC_ACK_PATH);
  ackUrl.searchParams.set('channel', channel);

  // Everything but `event` is the same for every event; `time` goes first.
  const envelopeFields = {
    source: hec?.source ?? DEFAULT_SOURCE,
    sourcetype: hec?.sourcetype ?? DEFAULT_SOURCETYPE,
    ...(hec?.index === undefined ? {} : { index: hec.index }),
  };

  function envelope(event: BrokerEvent): string {
    // Epoch seconds, milliseconds as the decimal part (HEC's `time` format).
    const time = Date.parse(event.time) / 1000;
    const head = JSON.stringify({ time, ...envelopeFields });
    // `serializeEvent` already produced JSON; splice it in rather than parse it again.
    return `${head.slice(0, -1)},"event":${serializeEvent(event, format)}}`;
  }

  /**
   * Reads a HEC answer; rejects unless it is a 200 JSON object with `code` 0. The ack
   * endpoint answers `{"acks": {...}}` without a `code`, so there it may be absent.
   */
  function hecAnswer(
    what: string,
    status: number,
    text: string,
    codeOptional = false,
  ): Record<string, unknown> {
    const answer = parseObject(text);
    const code = typeof answer?.code === 'number' ? answer.code : undefined;
    const said = typeof answer?.text === 'string' ? answer.text.slice(0, MAX_TEXT_CHARS) : '';
    const quoted = said === '' ? '' : `: ${said}`;
    const coded = code === undefined ? '' : ` (code ${code})`;
    if (status !== 200) {
      throw exchange.fail(`${what} answered HTTP ${status}${quoted}${coded}`, {
        status,
        ...(code === undefined ? {} : { hecCode: code }),
      });
    }
    const succeeded = code === 0 || (codeOptional && code === undefined);
    if (answer === undefined || !succeeded) {
      throw exchange.fail(`${what} answered HTTP 200 without success${quoted}${coded}`, {
        status,
        ...(code === undefined ? {} : { hecCode: code }),
      });
    }
    return answer;
  }

  async function awaitAck(ackId: number): Promise<void> {
    const deadline = Date.now() + ackTimeoutMs;
    const body = JSON.stringify({ acks: [ackId] });
    let lastError = '';
    for (;;) {
      const wait = Math.min(ackPollMs, deadline - Date.now());
      if (wait > 0) {
        try {
          await sleep(wait, undefined, { signal: exchange.closing, ref: false });
        } catch {
          throw exchange.fail(`ack wait for batch ${ackId} aborted: the sink is closed`);
        }
      }
      // A hung poll must not stretch the wait much past the deadline.
      const pollMs = Math.max(50, Math.min(timeoutMs, deadline - Date.now()));
      try {
        const { status, text } = await exchange.post(ackUrl, headers, body, 'HEC ack poll', pollMs);
        const acks = hecAnswer('HEC ack poll', status, text, true).acks;
        if (isRecord(acks) && acks[String(ackId)] === true) return;
        lastError = '';
      } catch (err) {
        // A 4xx (bad token, unknown channel, acks disabled) will not get better by asking
        // again; a 5xx or a network error might before the deadline.
        if (err instanceof HttpSinkError && isClientError(err.status)) throw err;
        if (exchange.closing.aborted) throw err;
        const message = err instanceof Error ? err.message : String(err);
        const { prefix } = exchange;
        lastError = `; last poll: ${message.startsWith(prefix) ? message.slice(prefix.length) : message}`;
      }
      if (Date.now() >= deadline) {
        throw exchange.fail(
          `batch ${ackId} not acknowledged by the indexer within ${ackTimeoutMs} ms${lastError}`,
        );
      }
    }
  }

  return {
    name,
    mode,
    async write(events: readonly BrokerEvent[]): Promise<void> {
      if (events.length === 0) return;
      const body = events.map(envelope).join('\n');
      const { status, text } = await exchange.post(eventUrl, headers, body, 'HEC POST', timeoutMs);
      const answer = hecAnswer('HEC', status, text);
      if (!ack) return;
      const ackId = answer.ackId;
      if (typeof ackId !== 'number' || !Number.isInteger(ackId) || ackId < 0) {
        throw exchange.fail('HEC sent no ackId: is indexer acknowledgement enabled on the token?', {
          status,
        });
      }
      await awaitAck(ackId);
    },
    async close(): Promise<void> {
      exchange.close();
    },
  };
}

/** `<base>/services/collector/...`, keeping a path prefix a proxy in front of HEC may need. */
function hecUrl(base: URL, path: string): URL {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  url.search = '';
  url.hash = '';
  return url;
}

function isClientError(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
