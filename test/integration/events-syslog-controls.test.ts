import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerEvent } from '../../src/events/types.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { eventually } from '../helpers/lease-http.js';
import {
  parseSyslog,
  type SyslogReceiver,
  startStreamReceiver,
} from '../helpers/syslog-receiver.js';

/*
 * A red-team finding end to end: a workload token whose `sub` carries control characters, and
 * an operator whose `sub` and `reason` do, reach a real syslog receiver (CEF over TCP,
 * octet-counted) as one line each with none of them raw. The stdout sink's JSON lines stay
 * one per event and give the exact text back.
 */

const HOSTILE =
  '\u0000\u0007\u001b[31m\r\nCEF:0|forged|x|1|y|z|10|\tsuid=root\u007f\u0085\u009b2J\u2028\u2029\ud800 \udfff';
const SUBJECT = `spiffe://test/agent-x${HOSTILE}`;
const RAW = /[\p{Cc}\u2028\u2029\p{Cs}]/u;

describe('control characters from tokens and operators, through a running broker', () => {
  let receiver: SyslogReceiver;
  let h: Harness;

  beforeAll(async () => {
    receiver = await startStreamReceiver();
    h = await startHarness({
      configure(raw) {
        (raw.events as Record<string, unknown>).syslog = [
          {
            name: 'siem',
            host: '127.0.0.1',
            port: receiver.port,
            transport: 'tcp',
            format: 'cef',
            mode: 'required',
          },
        ];
      },
    });
  });

  afterAll(async () => {
    await h?.close();
    await receiver?.stop();
  });

  it('refuses the token and the SIEM gets one clean CEF line naming the subject', async () => {
    const token = await h.workloadToken(SUBJECT);
    const refused = await h.request('/v1/credentials', {
      method: 'POST',
      token,
      json: {
        target: 'tickets',
        scope: { scopes: ['tickets:read'] },
        task: { id: 't-1', intent: 'triage' },
      },
    });
    expect(refused.status).toBe(401);

    const operator = await h.operatorToken(['admin'], `mallory${HOSTILE}@example.com`);
    const frozen = await h.request('/v1/freeze', {
      method: 'POST',
      token: operator,
      json: { reason: `incident ${HOSTILE}` },
    });
    expect(frozen.status).toBe(200);
    expect((await h.request('/v1/freeze', { method: 'DELETE', token: operator })).status).toBe(200);

    await h.broker.events.flush();
    const arrived = (type: string) => receiver.messages.some((m) => parseSyslog(m).msgId === type);
    expect(await eventually(async () => arrived('auth.failed') && arrived('issuance.frozen'))).toBe(
      true,
    );
    expect(receiver.errors).toEqual([]);

    // Every frame the collector took, whole: no control character anywhere in it.
    for (const message of receiver.messages) expect(message).not.toMatch(RAW);
    const cef = (type: string) =>
      receiver.messages.map(parseSyslog).find((m) => m.msgId === type)?.msg ?? '';

    const failed = cef('auth.failed');
    // One header of seven fields: the forged `CEF:0|…` after the line break is only text.
    expect(failed).toMatch(/^CEF:0\|jit-broker\|jit-broker\|1\|auth\.failed\|[^|]+\|\d+\|/);
    expect(failed).toContain(
      ' suid=spiffe://test/agent-x\uFFFD\uFFFD\uFFFD[31m\\r\\nCEF:0|forged|x|1|y|z|10|\uFFFDsuid\\=root',
    );
    expect(failed.match(/ suid=/g)).toHaveLength(1);

    const freeze = cef('issuance.frozen');
    expect(freeze).toContain(' reason=incident \uFFFD\uFFFD\uFFFD[31m\\r\\nCEF:0|forged');
    expect(freeze).toContain(' cs2=mallory\uFFFD');

    // stdout: one JSON document per line, whatever line terminator a collector splits on,
    // and the text comes back exactly.
    const lines = h.events.text.split(/\r\n|[\n\v\f\r\u0085\u2028\u2029]/).filter(Boolean);
    const events = lines.map((line) => JSON.parse(line) as BrokerEvent);
    expect(h.events.text.replace(/\n/g, '')).not.toMatch(RAW);
    expect(events.find((e) => e.type === 'auth.failed')?.subject).toBe(SUBJECT);
    expect(events.find((e) => e.type === 'issuance.frozen')?.reason).toBe(`incident ${HOSTILE}`);
  });
});
