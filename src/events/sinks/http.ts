import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { scrubSecrets } from '../../../providers/lib/scrub-secrets.js';
import type { EventFormat, EventSink, SinkMode } from '../sink.js';
import type { BrokerEvent } from '../types.js';
import { serializeEvent } from './stdout.js';

export interface HttpSinkOptions {
  name: string;
  /** webhook: the URL events are POSTed to. splunk_hec: the HEC base URL, e.g. https://splunk:8088 */
  url: string;
  kind: 'webhook' | 'splunk_hec';
  format: EventFormat;
  mode: SinkMode;
  /** webhook: sent as `Authorization: Bearer <token>`; splunk_hec: `Authorization: Splunk <token>` (required for HEC). A secret. */
  token?: string;
  /** Extra request headers (not secrets). */
  headers?: Record<string, string>;
  /** Per HTTP request. */
  timeoutMs: number;
  hec?: {
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
  };
  /** Tests. */
  fetch?: typeof fetch;
}

/**
 * A failed write. The message names the sink and what went wrong (HTTP status, HEC's
 * `text`/`code`), never the token, the URL or a request body.
 */
export class HttpSinkError extends Error {
  override readonly name = 'HttpSinkError';
  readonly sink: string;
  /** The HTTP status, when the server answered. */
  readonly status: number | undefined;
  /** HEC's numeric `code`, when it sent one. */
  readonly hecCode: number | undefined;

  constructor(sink: string, message: string, details: { status?: number; hecCode?: number } = {}) {
    super(message);
    this.sink = sink;
    this.status = details.status;
    this.hecCode = details.hecCode;
  }
}

/** Request header a webhook receiver can use to spot a batch it already took: `<first>-<last>` seq. */
export const BATCH_HEADER = 'x-jit-broker-batch';

const HEC_EVENT_PATH = '/services/collector/event';
const HEC_ACK_PATH = '/services/collector/ack';
const CHANNEL_HEADER = 'x-splunk-request-channel';
const DEFAULT_SOURCE = 'jit-broker';
const DEFAULT_SOURCETYPE = '_json';
const DEFAULT_ACK_POLL_MS = 200;
/** HEC answers are a few dozen bytes; anything longer is cut, not buffered. */
const MAX_ANSWER_BYTES = 16 * 1024;
/** HEC's `text` is quoted in errors; a hostile or broken server should not fill the logs. */
const MAX_TEXT_CHARS = 200;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Visible ASCII, no spaces: anything else could not go in a header, or would be mangled. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

/**
 * POSTs batches of events to a webhook, or to Splunk's HTTP Event Collector.
 *
 * One attempt per `write`: the bus keeps a failed batch at the head of the sink's queue and
 * retries it with back-off, and decides what a failure means for issuance (`required`) or
 * not (`best_effort`). Only the HEC acknowledgement poll repeats inside a write, bounded by
 * `hec.ackTimeoutMs`.
 *
 * Delivery is at-least-once. A batch whose answer was lost (timeout, connection reset) or
 * that Splunk indexed without acknowledging in time is sent again, together with anything
 * queued behind it. Every event carries `instance` + `seq` (and a unique `id`), so a SIEM
 * drops duplicates by that pair; the chain check (`verifyChain`) expects them dropped.
 */
export function httpSink(options: HttpSinkOptions): EventSink {
  const { name, kind, format, mode, token, timeoutMs } = options;
  if (kind !== 'webhook' && kind !== 'splunk_hec') {
    throw new TypeError(`httpSink ${name}: kind must be webhook or splunk_hec`);
  }
  if (format !== 'json' && format !== 'ocsf') {
    throw new TypeError(`httpSink ${name}: format must be json or ocsf`);
  }
  if (mode !== 'required' && mode !== 'best_effort') {
    throw new TypeError(`httpSink ${name}: mode must be required or best_effort`);
  }
  const base = parseUrl(name, options.url);
  if (token !== undefined && !TOKEN_CHARS.test(token)) {
    // Never quote the token, not even a malformed one.
    throw new TypeError(`httpSink ${name}: token must be non-empty visible ASCII without spaces`);
  }
  if (kind === 'splunk_hec' && token === undefined) {
    throw new TypeError(`httpSink ${name}: splunk_hec needs a token`);
  }
  positive(name, 'timeoutMs', timeoutMs);

  const fetchImpl = options.fetch ?? globalThis.fetch;
  const secrets = token === undefined ? [] : [token];
  // Throws a TypeError on a malformed header name or value, which is what construction should do.
  const baseHeaders = new Headers(options.headers);
  baseHeaders.set('content-type', 'application/json');
  if (token !== undefined) {
    baseHeaders.set('authorization', kind === 'splunk_hec' ? `Splunk ${token}` : `Bearer ${token}`);
  }

  // `close()` aborts whatever is in flight, so a hung server or a long ack wait cannot hold
  // shutdown past the bus's own flush deadline.
  const closing = new AbortController();

  const prefix = `event sink ${name}: `;
  const fail = (message: string, details?: { status?: number; hecCode?: number }) =>
    new HttpSinkError(name, scrubSecrets(`${prefix}${message}`, secrets), details);

  /** One HTTP exchange: the status and at most `MAX_ANSWER_BYTES` of the answer. */
  async function post(
    target: URL,
    headers: Headers,
    body: string,
    what: string,
    ms: number,
  ): Promise<{ status: number; text: string }> {
    if (closing.signal.aborted) throw fail(`${what} not sent: the sink is closed`);
    // A timer of our own rather than `AbortSignal.timeout` + `AbortSignal.any`: Node 20
    // holds both only weakly, and a signal collected mid-request never fires.
    const request = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      request.abort();
    }, ms);
    timer.unref();
    const onClose = () => request.abort();
    closing.signal.addEventListener('abort', onClose, { once: true });
    try {
      const response = await fetchImpl(target, {
        method: 'POST',
        headers,
        body,
        signal: request.signal,
        // A redirect is reported as its status, not followed: the URL is configuration.
        redirect: 'manual',
      });
      return { status: response.status, text: await readCapped(response) };
    } catch (err) {
      if (closing.signal.aborted) throw fail(`${what} aborted: the sink is closed`);
      if (timedOut) throw fail(`${what} got no answer within ${ms} ms`);
      throw fail(`${what} failed: ${describe(err)}`);
    } finally {
      clearTimeout(timer);
      closing.signal.removeEventListener('abort', onClose);
    }
  }

  if (kind === 'webhook') {
    return {
      name,
      mode,
      async write(events: readonly BrokerEvent[]): Promise<void> {
        const first = events[0];
        const last = events.at(-1);
        if (first === undefined || last === undefined) return;
        const headers = new Headers(baseHeaders);
        headers.set(BATCH_HEADER, `${first.seq}-${last.seq}`);
        const body = `[${events.map((event) => serializeEvent(event, format)).join(',')}]`;
        const { status } = await post(base, headers, body, 'webhook POST', timeoutMs);
        // The body is not quoted: a receiver may echo the request, and the sink may not know
        // what it holds.
        if (status < 200 || status > 299) {
          throw fail(`webhook answered HTTP ${status}`, { status });
        }
      },
      async close(): Promise<void> {
        closing.abort();
      },
    };
  }

  const hec = options.hec;
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
  const hecHeaders = new Headers(baseHeaders);
  if (ack) hecHeaders.set(CHANNEL_HEADER, channel);
  const eventUrl = hecUrl(base, HEC_EVENT_PATH);
  const ackUrl = hecUrl(base, HEC_ACK_PATH);
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
      throw fail(`${what} answered HTTP ${status}${quoted}${coded}`, {
        status,
        ...(code === undefined ? {} : { hecCode: code }),
      });
    }
    const succeeded = code === 0 || (codeOptional && code === undefined);
    if (answer === undefined || !succeeded) {
      throw fail(`${what} answered HTTP 200 without success${quoted}${coded}`, {
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
          await sleep(wait, undefined, { signal: closing.signal, ref: false });
        } catch {
          throw fail(`ack wait for batch ${ackId} aborted: the sink is closed`);
        }
      }
      // A hung poll must not stretch the wait much past the deadline.
      const pollMs = Math.max(50, Math.min(timeoutMs, deadline - Date.now()));
      try {
        const { status, text } = await post(ackUrl, hecHeaders, body, 'HEC ack poll', pollMs);
        const acks = hecAnswer('HEC ack poll', status, text, true).acks;
        if (isRecord(acks) && acks[String(ackId)] === true) return;
        lastError = '';
      } catch (err) {
        // A 4xx (bad token, unknown channel, acks disabled) will not get better by asking
        // again; a 5xx or a network error might before the deadline.
        if (err instanceof HttpSinkError && isClientError(err.status)) throw err;
        if (closing.signal.aborted) throw err;
        const message = err instanceof Error ? err.message : String(err);
        lastError = `; last poll: ${message.startsWith(prefix) ? message.slice(prefix.length) : message}`;
      }
      if (Date.now() >= deadline) {
        throw fail(
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
      const { status, text } = await post(eventUrl, hecHeaders, body, 'HEC POST', timeoutMs);
      const answer = hecAnswer('HEC', status, text);
      if (!ack) return;
      const ackId = answer.ackId;
      if (typeof ackId !== 'number' || !Number.isInteger(ackId) || ackId < 0) {
        throw fail('HEC sent no ackId: is indexer acknowledgement enabled on the token?', {
          status,
        });
      }
      await awaitAck(ackId);
    },
    async close(): Promise<void> {
      closing.abort();
    },
  };
}

function parseUrl(name: string, raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Not quoted: a webhook URL can itself be a secret (a token in its path).
    throw new TypeError(`httpSink ${name}: url is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`httpSink ${name}: url must be http or https`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError(`httpSink ${name}: url must not carry credentials; use token`);
  }
  return url;
}

/** `<base>/services/collector/...`, keeping a path prefix a proxy in front of HEC may need. */
function hecUrl(base: URL, path: string): URL {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  url.search = '';
  url.hash = '';
  return url;
}

function positive(name: string, field: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new TypeError(`httpSink ${name}: ${field} must be a positive number`);
  }
}

function isClientError(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** A network error's message with its cause's code (`fetch failed (ECONNREFUSED)`). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause: unknown = err.cause;
  const code =
    isRecord(cause) && typeof cause.code === 'string'
      ? cause.code
      : cause instanceof Error
        ? cause.message
        : undefined;
  return code === undefined ? err.message : `${err.message} (${code})`;
}

async function readCapped(response: Response): Promise<string> {
  const body = response.body;
  if (body === null) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
      if (size >= MAX_ANSWER_BYTES) {
        await reader.cancel();
        break;
      }
    }
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_ANSWER_BYTES);
}
