import type { EventFormat, EventSink, SinkMode } from '../../sink.js';
import { positive } from './lib/check.js';
import { openExchange } from './lib/exchange.js';
import { type HecOptions, splunkHecSink } from './splunk-hec.js';
import { webhookSink } from './webhook.js';

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
  hec?: HecOptions;
  /** Tests. */
  fetch?: typeof fetch;
}

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
  const url = parseUrl(name, options.url);
  if (token !== undefined && !TOKEN_CHARS.test(token)) {
    // Never quote the token, not even a malformed one.
    throw new TypeError(`httpSink ${name}: token must be non-empty visible ASCII without spaces`);
  }
  if (kind === 'splunk_hec' && token === undefined) {
    throw new TypeError(`httpSink ${name}: splunk_hec needs a token`);
  }
  positive(name, 'timeoutMs', timeoutMs);

  // Throws a TypeError on a malformed header name or value, which is what construction should do.
  const headers = new Headers(options.headers);
  headers.set('content-type', 'application/json');
  if (token !== undefined) {
    headers.set('authorization', kind === 'splunk_hec' ? `Splunk ${token}` : `Bearer ${token}`);
  }
  const exchange = openExchange(
    name,
    options.fetch ?? globalThis.fetch,
    token === undefined ? [] : [token],
  );
  const common = { name, mode, format, url, headers, timeoutMs };
  return kind === 'webhook'
    ? webhookSink(exchange, common)
    : splunkHecSink(exchange, { ...common, hec: options.hec });
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
