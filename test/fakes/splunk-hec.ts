import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Splunk HTTP Event Collector: `/services/collector/event` (batches of concatenated
 * JSON objects), `/services/collector/ack` (indexer acknowledgement), plus a plain webhook
 * receiver at `/webhook`. Answers are HEC-shaped: `{"text": ..., "code": ...}`.
 */

export interface SplunkHecFakeOptions {
  /** The HEC token (`Authorization: Splunk <token>`). */
  token: string;
  /** Indexer acknowledgement enabled on the token: a channel is required and acks are issued. */
  ack?: boolean;
  /** An ack turns true this long after its batch arrived. Default 0. */
  ackDelayMs?: number;
  /** When set, `/webhook` requires `Authorization: Bearer <webhookToken>`. */
  webhookToken?: string;
}

export interface SplunkHecRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** The query string, `?` included, or ''. */
  search: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** The raw body. */
  body: string;
}

/** One HEC object as received, with the channel it came on. */
export interface SplunkHecEnvelope {
  channel: string | undefined;
  ackId: number | undefined;
  time?: unknown;
  host?: unknown;
  source?: unknown;
  sourcetype?: unknown;
  index?: unknown;
  event: unknown;
}

export interface SplunkHecFake {
  /** http://127.0.0.1:<port> (the HEC base URL). */
  readonly url: string;
  /** `url` + `/webhook`. */
  readonly webhookUrl: string;
  /** The parsed `event` payloads of every accepted HEC batch, in order of arrival. */
  readonly events: unknown[];
  /** The whole objects of every accepted HEC batch, in order of arrival. */
  readonly envelopes: SplunkHecEnvelope[];
  /** The events of every accepted webhook batch, in order of arrival. */
  readonly webhook: unknown[];
  /** Every accepted webhook batch with its `x-jit-broker-batch` header. */
  readonly webhookBatches: { batch: string | undefined; events: unknown[] }[];
  /** Every request seen, accepted or not. */
  readonly requests: SplunkHecRequest[];
  /**
   * The next request to `path` (default: the next data request, HEC event or webhook) gets
   * this answer instead and is not recorded as accepted. A non-string body is sent as JSON.
   */
  failNext(status: number, body: unknown, path?: string): void;
  /** While on, ack polls answer false, and batches that arrive meanwhile are never acked. */
  setAckNeverArrives(on: boolean): void;
  close(): Promise<void>;
}

export const HEC_EVENT_PATH = '/services/collector/event';
export const HEC_ACK_PATH = '/services/collector/ack';
export const WEBHOOK_PATH = '/webhook';
const CHANNEL_HEADER = 'x-splunk-request-channel';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** HEC's status codes and texts for the answers this fake gives. */
export const HEC_ANSWERS = {
  success: [200, 0, 'Success'],
  tokenRequired: [401, 2, 'Token is required'],
  invalidAuthorization: [401, 3, 'Invalid authorization'],
  invalidToken: [403, 4, 'Invalid token'],
  noData: [400, 5, 'No data'],
  invalidDataFormat: [400, 6, 'Invalid data format'],
  serverBusy: [503, 9, 'Server is busy'],
  channelMissing: [400, 10, 'Data channel is missing'],
  invalidChannel: [400, 11, 'Invalid data channel'],
  eventRequired: [400, 12, 'Event field is required'],
  eventBlank: [400, 13, 'Event field cannot be blank'],
  ackDisabled: [400, 14, 'ACK is disabled'],
} as const satisfies Record<string, readonly [number, number, string]>;

type HecAnswerName = keyof typeof HEC_ANSWERS;

class HecFailure {
  constructor(
    readonly answer: HecAnswerName,
    readonly extra: Record<string, unknown> = {},
  ) {}
}

interface Pending {
  path: string | undefined;
  status: number;
  body: string;
}

interface AckState {
  at: number;
  lost: boolean;
}

export async function startSplunkHec(options: SplunkHecFakeOptions): Promise<SplunkHecFake> {
  const ackEnabled = options.ack ?? false;
  const ackDelayMs = options.ackDelayMs ?? 0;
  const events: unknown[] = [];
  const envelopes: SplunkHecEnvelope[] = [];
  const webhook: unknown[] = [];
  const webhookBatches: { batch: string | undefined; events: unknown[] }[] = [];
  const requests: SplunkHecRequest[] = [];
  const pending: Pending[] = [];
  /** Per channel, ackId → when its batch arrived. */
  const channels = new Map<string, AckState[]>();
  let ackNeverArrives = false;

  function requireHecToken(headers: Record<string, string>): void {
    const authorization = headers.authorization;
    if (authorization === undefined || authorization === '') {
      throw new HecFailure('tokenRequired');
    }
    const match = /^Splunk (\S+)$/.exec(authorization);
    if (match === null) throw new HecFailure('invalidAuthorization');
    if (match[1] !== options.token) throw new HecFailure('invalidToken');
  }

  /** The request's channel (header or `channel` query parameter), validated. */
  function channelOf(headers: Record<string, string>, query: URLSearchParams): string | undefined {
    const channel = headers[CHANNEL_HEADER] ?? query.get('channel') ?? undefined;
    if (channel === undefined || channel === '') return undefined;
    if (!GUID.test(channel)) throw new HecFailure('invalidChannel');
    return channel;
  }

  function collectEvents(
    headers: Record<string, string>,
    query: URLSearchParams,
    body: string,
  ): [number, unknown] {
    requireHecToken(headers);
    const channel = channelOf(headers, query);
    if (ackEnabled && channel === undefined) throw new HecFailure('channelMissing');
    const objects = parseConcatenated(body);
    if (objects.length === 0) throw new HecFailure('noData');
    for (const [index, object] of objects.entries()) {
      if (!('event' in object))
        throw new HecFailure('eventRequired', { 'invalid-event-number': index });
      const event = object.event;
      if (event === null || event === '' || (isRecord(event) && Object.keys(event).length === 0)) {
        throw new HecFailure('eventBlank', { 'invalid-event-number': index });
      }
      if ('time' in object && !isEpoch(object.time)) {
        throw new HecFailure('invalidDataFormat', { 'invalid-event-number': index });
      }
    }
    let ackId: number | undefined;
    if (ackEnabled && channel !== undefined) {
      const acks = channels.get(channel) ?? [];
      ackId = acks.length;
      acks.push({ at: Date.now(), lost: ackNeverArrives });
      channels.set(channel, acks);
    }
    for (const object of objects) {
      events.push(object.event);
      envelopes.push({ ...object, event: object.event, channel, ackId });
    }
    return [200, { text: 'Success', code: 0, ...(ackId === undefined ? {} : { ackId }) }];
  }

  function answerAcks(
    headers: Record<string, string>,
    query: URLSearchParams,
    body: string,
  ): [number, unknown] {
    requireHecToken(headers);
    if (!ackEnabled) throw new HecFailure('ackDisabled');
    const channel = channelOf(headers, query);
    if (channel === undefined) throw new HecFailure('channelMissing');
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new HecFailure('invalidDataFormat');
    }
    const ids = isRecord(parsed) ? parsed.acks : undefined;
    if (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id) && id >= 0)) {
      throw new HecFailure('invalidDataFormat');
    }
    const states = channels.get(channel) ?? [];
    const acks: Record<string, boolean> = {};
    for (const id of ids as number[]) {
      const state = states[id];
      acks[String(id)] =
        state !== undefined &&
        !state.lost &&
        !ackNeverArrives &&
        Date.now() - state.at >= ackDelayMs;
    }
    return [200, { acks }];
  }

  function collectWebhook(headers: Record<string, string>, body: string): [number, unknown] {
    if (
      options.webhookToken !== undefined &&
      headers.authorization !== `Bearer ${options.webhookToken}`
    ) {
      return [401, { error: 'unauthorized' }];
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return [400, { error: 'body is not JSON' }];
    }
    if (!Array.isArray(parsed)) return [400, { error: 'body is not a JSON array' }];
    webhook.push(...parsed);
    webhookBatches.push({ batch: headers['x-jit-broker-batch'], events: parsed });
    return [204, undefined];
  }

  function route(request: SplunkHecRequest, query: URLSearchParams): [number, unknown] {
    if (request.method !== 'POST') return [405, { text: 'Method not allowed', code: 404 }];
    switch (request.path) {
      case HEC_EVENT_PATH:
        return collectEvents(request.headers, query, request.body);
      case HEC_ACK_PATH:
        return answerAcks(request.headers, query, request.body);
      case WEBHOOK_PATH:
        return collectWebhook(request.headers, request.body);
      default:
        return [404, { text: 'The requested URL was not found on this server.', code: 404 }];
    }
  }

  function takePending(path: string): Pending | undefined {
    const index = pending.findIndex((entry) =>
      entry.path === undefined
        ? path === HEC_EVENT_PATH || path === WEBHOOK_PATH
        : entry.path === path,
    );
    if (index < 0) return undefined;
    return pending.splice(index, 1)[0];
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = new URL(req.url ?? '/', 'http://127.0.0.1');
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(', ') : value;
    }
    const request: SplunkHecRequest = {
      method: req.method ?? 'GET',
      path: target.pathname,
      search: target.search,
      headers,
      body: await readBody(req),
    };
    requests.push(request);
    const failure = takePending(request.path);
    if (failure !== undefined) {
      res.writeHead(failure.status, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(failure.body);
      return;
    }
    let status: number;
    let body: unknown;
    try {
      [status, body] = route(request, target.searchParams);
    } catch (err) {
      if (!(err instanceof HecFailure)) throw err;
      const [code, hecCode, text] = HEC_ANSWERS[err.answer];
      [status, body] = [code, { text, code: hecCode, ...err.extra }];
    }
    if (body === undefined) {
      res.writeHead(status);
      res.end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify(body));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    webhookUrl: `${url}${WEBHOOK_PATH}`,
    events,
    envelopes,
    webhook,
    webhookBatches,
    requests,
    failNext(status, body, path) {
      pending.push({ path, status, body: typeof body === 'string' ? body : JSON.stringify(body) });
    },
    setAckNeverArrives(on) {
      ackNeverArrives = on;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** HEC's `time`: epoch seconds as a number or a numeric string, milliseconds as decimals. */
function isEpoch(value: unknown): boolean {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) && number >= 0;
}

/**
 * Splits a HEC batch body, JSON objects one after another with optional whitespace between
 * them, and parses each strictly. Anything else (a top-level array, a stray value, a
 * truncated object) is `Invalid data format`, with the number of the object at fault.
 */
function parseConcatenated(body: string): Record<string, unknown>[] {
  const objects: Record<string, unknown>[] = [];
  let i = 0;
  while (i < body.length) {
    const ch = body[i];
    if (ch === ' ' || ch === '\n' || ch === '\r' || ch === '\t') {
      i += 1;
      continue;
    }
    const invalid = new HecFailure('invalidDataFormat', { 'invalid-event-number': objects.length });
    if (ch !== '{') throw invalid;
    const end = objectEnd(body, i);
    if (end < 0) throw invalid;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.slice(i, end));
    } catch {
      throw invalid;
    }
    if (!isRecord(parsed)) throw invalid;
    objects.push(parsed);
    i = end;
  }
  return objects;
}

/** Index just past the object that opens at `start`, or -1 if it never closes. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i += 1) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i += 1;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth += 1;
    else if (ch === '}' || ch === ']') {
      depth -= 1;
      if (depth === 0) return i + 1;
      if (depth < 0) return -1;
    }
  }
  return -1;
}
