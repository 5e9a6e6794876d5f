import { describe, expect, it } from 'vitest';
import { EventChain } from '../../../src/events/chain.js';
import {
  HttpSinkError,
  type HttpSinkOptions,
  httpSink,
} from '../../../src/events/sinks/http/index.js';
import type { BrokerEvent } from '../../../src/events/types.js';

const TOKEN = 'b2c9f1e4-7d1a-4a8e-9a55-0c7c3e6d1f00';
const CHANNEL = '11111111-2222-4333-8444-555555555555';

interface Call {
  url: string;
  method: string | undefined;
  headers: Headers;
  body: string;
}

type Answer = { status: number; body?: string } | Error | 'hang';

/** A `fetch` that records each call and answers from a script (the last answer repeats). */
function scripted(...answers: Answer[]) {
  const calls: Call[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    calls.push({
      url: String(input),
      method: init?.method,
      headers: new Headers(init?.headers),
      body: String(init?.body ?? ''),
    });
    const answer = answers.length > 1 ? answers.shift() : answers[0];
    if (answer === undefined) throw new Error('no answer scripted');
    if (answer === 'hang') {
      return new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    }
    if (answer instanceof Error) throw answer;
    return new Response(answer.body ?? null, { status: answer.status });
  };
  return { calls, fetch: fetchImpl };
}

function events(count: number): BrokerEvent[] {
  const chain = new EventChain();
  const out = [chain.genesis(new Date('2026-03-01T12:00:00.123Z'))];
  for (let n = 1; n < count; n += 1) {
    out.push(
      chain.append(
        { type: 'lease.revoked', outcome: 'success', lease_id: `lse_${n}` },
        new Date(Date.UTC(2026, 2, 1, 12, 0, n)),
      ),
    );
  }
  return out;
}

function hec(overrides: Partial<HttpSinkOptions> = {}): HttpSinkOptions {
  return {
    name: 'splunk',
    kind: 'splunk_hec',
    url: 'https://splunk.example:8088',
    format: 'json',
    mode: 'required',
    token: TOKEN,
    timeoutMs: 1_000,
    ...overrides,
  };
}

function webhook(overrides: Partial<HttpSinkOptions> = {}): HttpSinkOptions {
  return {
    name: 'hook',
    kind: 'webhook',
    url: 'https://hooks.example/in/secret-path',
    format: 'json',
    mode: 'best_effort',
    timeoutMs: 1_000,
    ...overrides,
  };
}

const success = (extra = '') => ({ status: 200, body: `{"text":"Success","code":0${extra}}` });

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`rejected with a non-Error: ${String(err)}`);
  }
  throw new Error('expected a rejection');
}

describe('httpSink construction', () => {
  it.each([
    ['ftp://splunk.example/', /http or https/],
    ['file:///etc/passwd', /http or https/],
    ['not a url', /not a valid URL/],
    ['https://user:pass@splunk.example:8088', /credentials/],
  ])('refuses url %s', (url, message) => {
    expect(() => httpSink(hec({ url }))).toThrow(TypeError);
    expect(() => httpSink(hec({ url }))).toThrow(message);
  });

  it('refuses splunk_hec without a token, and a malformed token without quoting it', () => {
    const { token: _omit, ...noToken } = hec();
    expect(() => httpSink(noToken)).toThrow(/needs a token/);
    for (const token of ['', `${TOKEN}\r\nx-evil: 1`, `${TOKEN} extra`]) {
      let message = '';
      try {
        httpSink(hec({ token }));
      } catch (err) {
        expect(err).toBeInstanceOf(TypeError);
        message = (err as Error).message;
      }
      expect(message).toMatch(/token must be/);
      expect(message).not.toContain(TOKEN);
    }
    expect(() => httpSink(webhook())).not.toThrow();
  });

  it('refuses bad timeouts, a channel that is not a UUID and malformed headers', () => {
    expect(() => httpSink(hec({ timeoutMs: 0 }))).toThrow(/timeoutMs/);
    expect(() => httpSink(hec({ timeoutMs: Number.NaN }))).toThrow(/timeoutMs/);
    expect(() => httpSink(hec({ hec: { ack: true, ackTimeoutMs: 0 } }))).toThrow(/ackTimeoutMs/);
    expect(() =>
      httpSink(hec({ hec: { ack: true, ackTimeoutMs: 1_000, channel: 'chan-1' } })),
    ).toThrow(/UUID/);
    expect(() => httpSink(webhook({ headers: { 'bad header': 'x' } }))).toThrow(TypeError);
  });
});

describe('webhook', () => {
  it('POSTs the batch as a JSON array with auth, extra headers and the batch header', async () => {
    const { calls, fetch } = scripted({ status: 202 });
    const sink = httpSink(
      webhook({ token: TOKEN, headers: { 'x-tenant': 'acme', authorization: 'nope' }, fetch }),
    );
    expect(sink).toMatchObject({ name: 'hook', mode: 'best_effort' });
    const batch = events(3);
    await sink.write(batch);
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call?.url).toBe('https://hooks.example/in/secret-path');
    expect(call?.method).toBe('POST');
    expect(call?.headers.get('authorization')).toBe(`Bearer ${TOKEN}`);
    expect(call?.headers.get('content-type')).toBe('application/json');
    expect(call?.headers.get('x-tenant')).toBe('acme');
    expect(call?.headers.get('x-jit-broker-batch')).toBe('0-2');
    expect(JSON.parse(call?.body ?? '')).toEqual(batch);
  });

  it('sends OCSF when asked, no Authorization without a token, and nothing for an empty batch', async () => {
    const { calls, fetch } = scripted({ status: 200 });
    const sink = httpSink(webhook({ format: 'ocsf', fetch }));
    await sink.write([]);
    expect(calls).toHaveLength(0);
    await sink.write(events(2));
    expect(calls[0]?.headers.has('authorization')).toBe(false);
    const body = JSON.parse(calls[0]?.body ?? '') as { type_uid: number }[];
    expect(body.map((event) => event.type_uid)).toEqual([600399, 600304]);
  });

  it('rejects a non-2xx (a redirect included) naming the sink and status, never the URL or body', async () => {
    for (const status of [301, 400, 500]) {
      const { fetch } = scripted({ status, body: `echo ${TOKEN}` });
      const err = await rejection(httpSink(webhook({ token: TOKEN, fetch })).write(events(1)));
      expect(err).toBeInstanceOf(HttpSinkError);
      expect(err.message).toBe(`event sink hook: webhook answered HTTP ${status}`);
      expect(err).toMatchObject({ sink: 'hook', status });
    }
  });

  it('rejects on a network error and on a timeout', async () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    let sink = httpSink(webhook({ fetch: scripted(refused).fetch }));
    expect((await rejection(sink.write(events(1)))).message).toBe(
      'event sink hook: webhook POST failed: fetch failed (ECONNREFUSED)',
    );
    sink = httpSink(webhook({ timeoutMs: 30, fetch: scripted('hang').fetch }));
    expect((await rejection(sink.write(events(1)))).message).toBe(
      'event sink hook: webhook POST got no answer within 30 ms',
    );
  });

  it('close() aborts a request in flight and refuses later writes', async () => {
    const sink = httpSink(webhook({ timeoutMs: 10_000, fetch: scripted('hang').fetch }));
    const pending = rejection(sink.write(events(1)));
    await sink.close?.();
    expect((await pending).message).toMatch(/aborted: the sink is closed/);
    expect((await rejection(sink.write(events(1)))).message).toMatch(/the sink is closed/);
  });
});

describe('splunk_hec', () => {
  it('POSTs newline-separated HEC objects with time in epoch seconds', async () => {
    const { calls, fetch } = scripted(success());
    const sink = httpSink(
      hec({
        url: 'https://proxy.example/splunk/',
        format: 'ocsf',
        hec: { index: 'sec', sourcetype: 'ocsf', ack: false, ackTimeoutMs: 1 },
        fetch,
      }),
    );
    const batch = events(3);
    await sink.write(batch);
    const [call] = calls;
    expect(call?.url).toBe('https://proxy.example/splunk/services/collector/event');
    expect(call?.headers.get('authorization')).toBe(`Splunk ${TOKEN}`);
    expect(call?.headers.has('x-splunk-request-channel')).toBe(false);
    const lines = call?.body.split('\n') ?? [];
    expect(lines).toHaveLength(3);
    expect(
      lines[0]?.startsWith(
        '{"time":1772366400.123,"source":"jit-broker","sourcetype":"ocsf","index":"sec","event":{',
      ),
    ).toBe(true);
    const objects = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(objects.map((object) => object.time)).toEqual([1772366400.123, 1772366401, 1772366402]);
    expect(objects[1]?.event).toMatchObject({ type_uid: 600304, unmapped: { seq: 1 } });
  });

  it('rejects a non-200 and a 200 whose code is not 0, quoting HEC text and code (scrubbed)', async () => {
    const cases: [Answer, string][] = [
      [
        { status: 403, body: `{"text":"Invalid token ${TOKEN}","code":4}` },
        'event sink splunk: HEC answered HTTP 403: Invalid token [redacted] (code 4)',
      ],
      [
        { status: 400, body: '{"text":"Invalid data format","code":6,"invalid-event-number":0}' },
        'event sink splunk: HEC answered HTTP 400: Invalid data format (code 6)',
      ],
      [
        { status: 502, body: '<html>bad gateway</html>' },
        'event sink splunk: HEC answered HTTP 502',
      ],
      [
        { status: 200, body: '{"text":"Something odd","code":7}' },
        'event sink splunk: HEC answered HTTP 200 without success: Something odd (code 7)',
      ],
      [{ status: 200, body: 'OK' }, 'event sink splunk: HEC answered HTTP 200 without success'],
      [
        { status: 200, body: '{"text":"Success"}' },
        'event sink splunk: HEC answered HTTP 200 without success: Success',
      ],
    ];
    for (const [answer, message] of cases) {
      const err = await rejection(
        httpSink(hec({ fetch: scripted(answer).fetch })).write(events(1)),
      );
      expect(err.message).toBe(message);
    }
  });

  describe('with indexer acknowledgement', () => {
    const ackOptions = { ack: true, ackTimeoutMs: 300, ackPollMs: 10, channel: CHANNEL };

    it('polls the ack endpoint until the batch is acked', async () => {
      const { calls, fetch } = scripted(
        success(',"ackId":7'),
        { status: 200, body: '{"acks":{"7":false}}' },
        { status: 503, body: '{"text":"Server is busy","code":9}' },
        { status: 200, body: '{"acks":{"7":true}}' },
      );
      await httpSink(hec({ hec: ackOptions, fetch })).write(events(2));
      expect(calls.map((call) => new URL(call.url).pathname)).toEqual([
        '/services/collector/event',
        '/services/collector/ack',
        '/services/collector/ack',
        '/services/collector/ack',
      ]);
      for (const call of calls) {
        expect(call.headers.get('x-splunk-request-channel')).toBe(CHANNEL);
        expect(call.headers.get('authorization')).toBe(`Splunk ${TOKEN}`);
        expect(call.url).not.toContain(TOKEN);
      }
      expect(new URL(calls[1]?.url ?? '').searchParams.get('channel')).toBe(CHANNEL);
      expect(calls[1]?.body).toBe('{"acks":[7]}');
    });

    it('keeps one generated channel for the life of the sink', async () => {
      const { calls, fetch } = scripted(
        success(',"ackId":0'),
        { status: 200, body: '{"acks":{"0":true}}' },
        success(',"ackId":1'),
        { status: 200, body: '{"acks":{"1":true}}' },
      );
      const sink = httpSink(hec({ hec: { ack: true, ackTimeoutMs: 300, ackPollMs: 10 }, fetch }));
      await sink.write(events(1));
      await sink.write(events(1));
      const channels = new Set(calls.map((call) => call.headers.get('x-splunk-request-channel')));
      expect(channels.size).toBe(1);
      expect([...channels][0]).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('rejects when the ack does not come within ackTimeoutMs, naming the last poll error', async () => {
      const { calls, fetch } = scripted(success(',"ackId":3'), {
        status: 503,
        body: '{"text":"Server is busy","code":9}',
      });
      const started = Date.now();
      const err = await rejection(httpSink(hec({ hec: ackOptions, fetch })).write(events(1)));
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(err.message).toBe(
        'event sink splunk: batch 3 not acknowledged by the indexer within 300 ms; last poll: HEC ack poll answered HTTP 503: Server is busy (code 9)',
      );
      expect(calls.length).toBeGreaterThan(3);
    });

    it('fails at once on a 4xx from the ack endpoint, and without an ackId', async () => {
      const { calls, fetch } = scripted(success(',"ackId":0'), {
        status: 400,
        body: '{"text":"ACK is disabled","code":14}',
      });
      const err = await rejection(httpSink(hec({ hec: ackOptions, fetch })).write(events(1)));
      expect(err.message).toBe(
        'event sink splunk: HEC ack poll answered HTTP 400: ACK is disabled (code 14)',
      );
      expect(calls).toHaveLength(2);
      const noAckId = await rejection(
        httpSink(hec({ hec: ackOptions, fetch: scripted(success()).fetch })).write(events(1)),
      );
      expect(noAckId.message).toMatch(/no ackId/);
    });

    it('close() ends an ack wait at once', async () => {
      const { fetch } = scripted(success(',"ackId":0'), {
        status: 200,
        body: '{"acks":{"0":false}}',
      });
      const sink = httpSink(hec({ hec: { ...ackOptions, ackTimeoutMs: 60_000 }, fetch }));
      const pending = rejection(sink.write(events(1)));
      setTimeout(() => void sink.close?.(), 30);
      expect((await pending).message).toMatch(/the sink is closed/);
    });
  });
});
