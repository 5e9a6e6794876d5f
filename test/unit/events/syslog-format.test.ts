import { describe, expect, it } from 'vitest';
import { cefMessage, formatSyslog, syslogSink } from '../../../src/events/sinks/syslog/index.js';
import type { BrokerEvent, EventType, Severity } from '../../../src/events/types.js';
import { parseSyslog, sdParams } from '../../helpers/syslog-receiver.js';

const BOM = '\uFEFF';

function event(overrides: Partial<BrokerEvent> = {}): BrokerEvent {
  return {
    id: 'evt_01',
    time: '2025-03-04T05:06:07.089Z',
    severity: 'info',
    instance: 'inst-a',
    seq: 42,
    prev: '0'.repeat(64),
    type: 'lease.revoked',
    outcome: 'success',
    workload: 'agent-a',
    lease_id: 'lse_1',
    ...overrides,
  };
}

const base = { format: 'json', hostname: 'broker-1', appName: 'jit-broker', procId: 4242 } as const;

describe('formatSyslog', () => {
  it.each([
    ['info', 6],
    ['low', 5],
    ['medium', 4],
    ['high', 3],
    ['critical', 2],
  ] as [Severity, number][])('maps severity %s to syslog severity %i', (severity, expected) => {
    const authpriv = parseSyslog(formatSyslog(event({ severity }), base));
    expect(authpriv.pri).toBe(10 * 8 + expected);
    const local7 = parseSyslog(formatSyslog(event({ severity }), { ...base, facility: 23 }));
    expect(local7.pri).toBe(23 * 8 + expected);
    const kern = parseSyslog(formatSyslog(event({ severity }), { ...base, facility: 0 }));
    expect(kern.pri).toBe(expected);
  });

  it('rejects a facility outside 0–23', () => {
    expect(() => formatSyslog(event(), { ...base, facility: 24 })).toThrow(TypeError);
    expect(() => formatSyslog(event(), { ...base, facility: -1 })).toThrow(TypeError);
    expect(() => formatSyslog(event(), { ...base, facility: 1.5 })).toThrow(TypeError);
  });

  it('writes the RFC 5424 header fields', () => {
    const message = formatSyslog(event(), base);
    expect(
      message.startsWith(
        '<86>1 2025-03-04T05:06:07.089Z broker-1 jit-broker 4242 lease.revoked [jit@32473 instance="inst-a" seq="42"] ',
      ),
    ).toBe(true);
    const parsed = parseSyslog(message);
    expect(parsed).toMatchObject({
      version: 1,
      timestamp: '2025-03-04T05:06:07.089Z',
      hostname: 'broker-1',
      appName: 'jit-broker',
      procId: '4242',
      msgId: 'lease.revoked',
    });
  });

  it('defaults to facility authpriv, app jit-broker, this host and this process', () => {
    const parsed = parseSyslog(formatSyslog(event(), { format: 'json' }));
    expect(parsed.facility).toBe(10);
    expect(parsed.appName).toBe('jit-broker');
    expect(parsed.procId).toBe(String(process.pid));
    expect(parsed.hostname).not.toBe('-');
  });

  it('keeps HOSTNAME and APP-NAME printable ASCII without spaces, and within length', () => {
    const parsed = parseSyslog(
      formatSyslog(event(), {
        ...base,
        hostname: `bröker host\t${'h'.repeat(300)}`,
        appName: `my app ${'a'.repeat(60)}`,
      }),
    );
    expect(parsed.hostname).toMatch(/^[\x21-\x7e]+$/);
    expect(parsed.hostname.startsWith('br_ker_host_hhh')).toBe(true);
    expect(parsed.hostname).toHaveLength(255);
    expect(parsed.appName.startsWith('my_app_aaa')).toBe(true);
    expect(parsed.appName).toHaveLength(48);
    expect(parseSyslog(formatSyslog(event(), { ...base, hostname: '' })).hostname).toBe('-');
  });

  it('truncates MSGID to 32 characters', () => {
    const type = `credential.${'x'.repeat(40)}` as EventType;
    const parsed = parseSyslog(formatSyslog(event({ type }), base));
    expect(parsed.msgId).toBe(type.slice(0, 32));
    expect(parsed.msgId).toHaveLength(32);
  });

  it('escapes ", \\ and ] in structured data values', () => {
    const instance = 'a"b\\c]d';
    const message = formatSyslog(event({ instance }), base);
    expect(message).toContain('[jit@32473 instance="a\\"b\\\\c\\]d" seq="42"]');
    const parsed = parseSyslog(message);
    expect(sdParams(parsed.structuredData, 'jit@32473')).toEqual({ instance, seq: '42' });
    // MSG starts right after the element: nothing of the value leaked past it.
    expect(parsed.msg.startsWith(BOM)).toBe(true);
  });

  it('prefixes a JSON or OCSF MSG with the UTF-8 BOM, and not a CEF one', () => {
    const json = parseSyslog(formatSyslog(event(), base)).msg;
    expect(json.startsWith(BOM)).toBe(true);
    expect(JSON.parse(json.slice(1))).toEqual(event());
    expect(Buffer.from(json, 'utf8').subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));

    const ocsf = parseSyslog(formatSyslog(event(), { ...base, format: 'ocsf' })).msg;
    expect(ocsf.startsWith(BOM)).toBe(true);
    expect(JSON.parse(ocsf.slice(1))).toMatchObject({ class_uid: 6003, unmapped: { seq: 42 } });

    const cef = parseSyslog(formatSyslog(event(), { ...base, format: 'cef' })).msg;
    expect(cef.startsWith('CEF:0|')).toBe(true);
    expect(cef).toBe(cefMessage(event()));
  });

  it('falls back to NILVALUE for a timestamp that is not RFC 3339', () => {
    expect(parseSyslog(formatSyslog(event({ time: 'yesterday' }), base)).timestamp).toBe('-');
  });
});

/** Splits a CEF message into its 7 header fields and its extension, honouring escapes. */
function splitCef(message: string): { header: string[]; extension: Record<string, string> } {
  const header: string[] = [];
  let field = '';
  let index = 0;
  while (header.length < 7) {
    const char = message[index];
    if (char === undefined) throw new Error('short CEF header');
    if (char === '\\') {
      field += message[index + 1];
      index += 2;
    } else if (char === '|') {
      header.push(field);
      field = '';
      index += 1;
    } else {
      field += char;
      index += 1;
    }
  }
  const extension: Record<string, string> = {};
  // A key starts after a space and runs to an unescaped `=`; values may hold spaces.
  const pairs = message.slice(index).split(/ (?=[A-Za-z0-9]+=)/);
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const raw = pair.slice(eq + 1);
    expect(raw).not.toMatch(/(?<!\\)(?:\\\\)*=/); // every `=` inside a value is escaped
    expect(raw).not.toMatch(/[\r\n]/);
    extension[pair.slice(0, eq)] = raw.replace(/\\(.)/g, (_, char: string) =>
      char === 'n' ? '\n' : char === 'r' ? '\r' : char,
    );
  }
  return { header, extension };
}

describe('cefMessage', () => {
  it('writes the CEF:0 header and maps the fields', () => {
    const message = cefMessage(
      event({
        severity: 'high',
        reason: 'operator request',
        source_ip: '203.0.113.9',
        actor: 'alice@example.com',
        request_id: 'req_1',
      }),
    );
    expect(message.startsWith('CEF:0|jit-broker|jit-broker|1|lease.revoked|Lease revoked|8|')).toBe(
      true,
    );
    expect(splitCef(message).extension).toEqual({
      rt: String(Date.parse('2025-03-04T05:06:07.089Z')),
      act: 'lease.revoked',
      suser: 'agent-a',
      outcome: 'success',
      reason: 'operator request',
      externalId: 'lse_1',
      src: '203.0.113.9',
      cs1Label: 'instance',
      cs1: 'inst-a',
      cs2Label: 'actor',
      cs2: 'alice@example.com',
      cs3Label: 'event_id',
      cs3: 'evt_01',
      cs4Label: 'request_id',
      cs4: 'req_1',
      cn1Label: 'seq',
      cn1: '42',
    });
  });

  it.each([
    ['info', 3],
    ['low', 3],
    ['medium', 5],
    ['high', 8],
    ['critical', 10],
  ] as [Severity, number][])('maps severity %s to CEF %i', (severity, expected) => {
    expect(splitCef(cefMessage(event({ severity }))).header[6]).toBe(String(expected));
  });

  it('escapes |, \\, = and line breaks in extension values', () => {
    const workload = 'team|a=b\\c';
    const reason = 'denied: x=1 | y\\z\nsecond line\r\nthird';
    const message = cefMessage(event({ workload, reason }));
    expect(message).toContain('suser=team|a\\=b\\\\c ');
    expect(message).toContain('reason=denied: x\\=1 | y\\\\z\\nsecond line\\r\\nthird ');
    expect(message).not.toMatch(/[\r\n]/);
    const { header, extension } = splitCef(message);
    expect(header).toHaveLength(7);
    expect(extension.suser).toBe(workload);
    expect(extension.reason).toBe(reason);
  });

  it('escapes \\ and | in header fields', () => {
    const type = 'lease|odd\\type' as EventType;
    const message = cefMessage(event({ type }));
    expect(message.startsWith('CEF:0|jit-broker|jit-broker|1|lease\\|odd\\\\type|')).toBe(true);
    expect(splitCef(message).header[4]).toBe(type);
  });

  it('leaves out what the event does not carry, and a source that is not an IP', () => {
    const bare: BrokerEvent = {
      id: 'evt_2',
      time: '2025-03-04T05:06:07.089Z',
      severity: 'info',
      instance: 'i',
      seq: 0,
      prev: '0'.repeat(64),
      type: 'chain.genesis',
      outcome: 'success',
      source_ip: 'not an ip',
    };
    expect(Object.keys(splitCef(cefMessage(bare)).extension)).toEqual([
      'rt',
      'act',
      'outcome',
      'cs1Label',
      'cs1',
      'cs3Label',
      'cs3',
      'cn1Label',
      'cn1',
    ]);
  });
});

describe('syslogSink options', () => {
  const valid = {
    name: 'syslog',
    host: '127.0.0.1',
    port: 514,
    transport: 'udp',
    format: 'json',
    mode: 'best_effort',
    timeoutMs: 1_000,
  } as const;

  it('refuses a bad port, facility, timeout or transport', () => {
    expect(() => syslogSink(valid)).not.toThrow();
    expect(() => syslogSink({ ...valid, port: 0 })).toThrow(TypeError);
    expect(() => syslogSink({ ...valid, port: 70_000 })).toThrow(TypeError);
    expect(() => syslogSink({ ...valid, facility: 24 })).toThrow(TypeError);
    expect(() => syslogSink({ ...valid, timeoutMs: 0 })).toThrow(TypeError);
    expect(() => syslogSink({ ...valid, transport: 'sctp' as 'udp' })).toThrow(TypeError);
  });
});
