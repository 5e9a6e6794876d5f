import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EventChain } from '../../../src/events/chain.js';
import { type HttpSinkOptions, httpSink } from '../../../src/events/sinks/http/index.js';
import { serializeEvent } from '../../../src/events/sinks/lib/serialize-event.js';
import { stdoutSink } from '../../../src/events/sinks/stdout/index.js';
import { cefMessage, formatSyslog } from '../../../src/events/sinks/syslog/index.js';
import type { BrokerEvent, EventInput } from '../../../src/events/types.js';
import { parseSyslog, sdParams } from '../../helpers/syslog-receiver.js';

/*
 * A token's `sub`, an operator's `reason` and a task's fields are text someone else chose.
 * Whatever they hold, no sink may put a control character on the wire raw: a collector that
 * splits records on a line terminator (LF, CR, NEL, U+2028, U+2029) would read a forged
 * second event, and a terminal showing the log would obey ESC or C1 CSI sequences.
 */

const CLASSES: [string, string][] = [
  ['C0', '\u0000 NUL \u0007 BEL \u001b[31m ESC \r CR \n LF \t TAB \u0008 BS \u001f US'],
  ['DEL', 'x\u007fy'],
  ['C1', '\u0080 \u0085 NEL \u009b[2J CSI \u009f'],
  ['line and paragraph separators', 'a\u2028b\u2029c'],
  ['lone surrogates', 'high \ud800 alone, low \udfff alone, reversed \udc00\ud800'],
];
const EVERYTHING = CLASSES.map(([, text]) => text).join(' | ');

/** Any control character (Cc: C0, DEL, C1), U+2028/U+2029 or a lone surrogate, raw. */
const RAW = /[\p{Cc}\u2028\u2029\p{Cs}]/u;
const LINE_BREAK = /\r\n|[\n\v\f\r\u0085\u2028\u2029]/;

function hostile(text: string): EventInput {
  return {
    type: 'credential.denied',
    outcome: 'denied',
    workload: `agent-${text}`,
    subject: `spiffe://test/${text}`,
    issuer: `https://issuer.test/${text}`,
    target: `target-${text}`,
    reason: `operator said: ${text}`,
    actor: `alice${text}@example.com`,
    request_id: `req_${text}`,
    task: { id: `task-${text}`, intent: `intent-${text}`, tool: `tool-${text}` },
    detail: { [`key-${text}`]: `value-${text}` },
  };
}

function chained(input: EventInput, instance = 'inst-a'): BrokerEvent {
  const chain = new EventChain({ instance });
  chain.genesis(new Date('2026-03-01T12:00:00.000Z'));
  return chain.append(input, new Date('2026-03-01T12:00:01.000Z'));
}

const syslog = { hostname: 'broker-1', appName: 'jit-broker', procId: 4242 } as const;

/** Every class alone, then all of them in one field. */
const CASES = [...CLASSES, ['every class at once', EVERYTHING] as [string, string]].map(
  ([name, text]) => ({ name, event: chained(hostile(text)), text }),
);

describe('no control character reaches a collector raw', () => {
  it('CEF: header and every extension value', () => {
    for (const { name, event } of CASES) {
      const line = cefMessage(event);
      expect(line, name).not.toMatch(RAW);
      expect(line.split(LINE_BREAK), name).toHaveLength(1);
      // Still one CEF record with the fields where they belong.
      expect(line, name).toMatch(
        /^CEF:0\|jit-broker\|jit-broker\|1\|credential\.denied\|[^|]+\|3\|/,
      );
      expect(line, name).toMatch(/ suid=spiffe:\/\/test\//);
      expect(line, name).toMatch(/ reason=operator said: /);
    }
  });

  it.each(['json', 'ocsf', 'cef'] as const)('RFC 5424 with a %s MSG', (format) => {
    for (const { name, event } of CASES) {
      const line = formatSyslog(event, { ...syslog, format });
      expect(line, name).not.toMatch(RAW);
      expect(line.split(LINE_BREAK), name).toHaveLength(1);
      expect(parseSyslog(line).msgId, name).toBe('credential.denied');
    }
  });

  it('RFC 5424: header fields and structured-data values', () => {
    for (const { name, text } of CASES) {
      const line = formatSyslog(chained(hostile(text), `inst-${text}`), {
        format: 'json',
        hostname: `host-${text}`,
        appName: `app-${text}`,
        procId: `proc-${text}`,
      });
      expect(line, name).not.toMatch(RAW);
      const parsed = parseSyslog(line);
      // HOSTNAME, APP-NAME and PROCID are PRINTUSASCII (RFC 5424 §6.2), no space.
      for (const field of [parsed.hostname, parsed.appName, parsed.procId]) {
        expect(field, name).toMatch(/^[\x21-\x7e]+$/);
      }
      expect(sdParams(parsed.structuredData, 'jit@32473').instance, name).toMatch(/^inst-/);
    }
  });

  it.each(['json', 'ocsf'] as const)(
    'JSON (%s): escaped, and parsing gives back the exact text',
    (format) => {
      for (const { name, event } of CASES) {
        const json = serializeEvent(event, format);
        expect(json, name).not.toMatch(RAW);
        const parsed = JSON.parse(json) as Record<string, unknown>;
        if (format === 'json') {
          expect(parsed, name).toEqual(JSON.parse(JSON.stringify(event)));
          expect(parsed.subject, name).toBe(event.subject);
          expect(parsed.reason, name).toBe(event.reason);
          expect(parsed.task, name).toEqual(event.task);
        } else {
          const unmapped = parsed.unmapped as Record<string, unknown>;
          expect(unmapped.subject, name).toBe(event.subject);
          expect(unmapped.task, name).toEqual(event.task);
          expect(parsed.status_detail, name).toBe(event.reason);
        }
      }
    },
  );

  it('stdout: one event, one line, for a collector splitting on any line terminator', async () => {
    for (const { name, event } of CASES) {
      const chunks: string[] = [];
      const out = new Writable({
        write(chunk: Buffer, _enc, done) {
          chunks.push(chunk.toString('utf8'));
          done();
        },
      });
      await stdoutSink({ stream: out }).write([event, event]);
      await stdoutSink({ stream: out, format: 'ocsf' }).write([event]);
      const written = chunks.join('');
      expect(written.replace(/\n/g, ''), name).not.toMatch(RAW);
      const lines = written.split(LINE_BREAK);
      expect(lines, name).toHaveLength(4);
      expect(lines[3], name).toBe('');
      for (const line of lines.slice(0, 3)) expect(() => JSON.parse(line), name).not.toThrow();
    }
  });

  it.each(['webhook', 'splunk_hec'] as const)('%s: the request body', async (kind) => {
    for (const { name, event } of CASES) {
      const bodies: string[] = [];
      const fetchImpl: typeof fetch = async (_input, init) => {
        bodies.push(String(init?.body ?? ''));
        return new Response('{"text":"Success","code":0}', { status: 200 });
      };
      const options: HttpSinkOptions = {
        name: 'siem',
        kind,
        url: 'https://siem.example:8088',
        format: 'json',
        mode: 'required',
        timeoutMs: 1_000,
        token: 'b2c9f1e4-7d1a-4a8e-9a55-0c7c3e6d1f00',
        fetch: fetchImpl,
      };
      await httpSink(options).write([event]);
      await httpSink({ ...options, format: 'ocsf' }).write([event]);
      expect(bodies, name).toHaveLength(2);
      for (const body of bodies) {
        expect(body, name).not.toMatch(RAW);
        expect(() => JSON.parse(body), name).not.toThrow();
      }
    }
  });
});

describe('escaping keeps what a collector needs', () => {
  it('CEF writes CR and LF as its own \\r and \\n, and other control characters as U+FFFD', () => {
    const event = chained(hostile('a\r\nb\u0000c\u2028d\u0085e\ud800f\u{1f600}g'));
    const line = cefMessage(event);
    expect(line).toContain(' suid=spiffe://test/a\\r\\nb\uFFFDc\uFFFDd\uFFFDe\uFFFDf\u{1f600}g ');
    expect(line).toContain(' reason=operator said: a\\r\\nb\uFFFDc');
  });

  it('JSON writes U+2028, U+2029, DEL and C1 as \\u escapes, and keeps other text as it is', () => {
    const event = chained(hostile('a\u2028b\u2029c\u007fd\u0085e é \u{1f600}'));
    const json = serializeEvent(event, 'json');
    expect(json).toContain(
      '"subject":"spiffe://test/a\\u2028b\\u2029c\\u007fd\\u0085e é \u{1f600}"',
    );
  });

  it('RFC 5424 structured data replaces control characters and still escapes " \\ ]', () => {
    const line = formatSyslog(chained(hostile('x'), 'a"b\\c]d\ne\u0000f'), {
      ...syslog,
      format: 'json',
    });
    expect(line).toContain('[jit@32473 instance="a\\"b\\\\c\\]d\uFFFDe\uFFFDf" seq="1"]');
  });
});
