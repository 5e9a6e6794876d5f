import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SplunkHecFake, startSplunkHec } from '../fakes/splunk-hec.js';
import { startHarness } from '../helpers/broker-harness.js';
import { eventually } from '../helpers/lease-http.js';
import {
  makeCa,
  makeServerCert,
  parseSyslog,
  startStreamReceiver,
} from '../helpers/syslog-receiver.js';

/*
 * The configured webhook and Splunk HEC sinks, wired by `startBroker` from `events.http`:
 * what a SIEM receives for an issuance, and a `required` collector that cannot take events
 * failing issuance closed.
 */

const TOKEN = 'hec-token-4d7a1c2e9b8f0a3d';
const REQUEST = {
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: 'siem-1', intent: 'triage' },
};

describe('events.http sinks in a running broker', () => {
  let hec: SplunkHecFake;

  beforeAll(async () => {
    hec = await startSplunkHec({ token: TOKEN, ack: true, ackDelayMs: 20, webhookToken: TOKEN });
  });
  afterAll(async () => {
    await hec?.close();
  });

  it('sends every event to the webhook and to Splunk (acknowledged), without the token', async () => {
    const h = await startHarness({
      configure(raw) {
        (raw.events as Record<string, unknown>).http = [
          { name: 'hook', kind: 'webhook', url: hec.webhookUrl, token: TOKEN, format: 'json' },
          {
            name: 'splunk',
            kind: 'splunk_hec',
            url: hec.url,
            token: TOKEN,
            format: 'ocsf',
            mode: 'required',
            hec: { index: 'security', ack: true, ack_timeout: '3s' },
          },
        ];
      },
    });
    try {
      const agent = await h.workloadToken('spiffe://test/agent-a');
      const res = await h.request('/v1/credentials', {
        method: 'POST',
        token: agent,
        json: REQUEST,
      });
      expect(res.status).toBe(201);
      const issued = (await res.json()) as { lease_id: string; credential: { token: string } };
      await h.broker.events.flush();

      const hooked = hec.webhookBatches.flatMap((b) => b.events) as {
        type: string;
        lease_id?: string;
      }[];
      expect(hooked.find((e) => e.type === 'credential.issued')?.lease_id).toBe(issued.lease_id);
      const indexed = hec.envelopes.filter((e) => e.index === 'security');
      expect(indexed.length).toBeGreaterThan(0);
      // OCSF API Activity for the issuance, sourcetype by default _json.
      expect(JSON.stringify(hec.events)).toContain(issued.lease_id);
      const everything = JSON.stringify([hec.webhookBatches, hec.events, h.logs.text]);
      expect(everything).not.toContain(issued.credential.token);
      expect(everything).not.toContain(TOKEN);
    } finally {
      await h.close();
    }
  });

  it('a required collector that cannot take events stops the start, or fails issuance closed', async () => {
    const sink = (token: string) => (raw: Record<string, unknown>) => {
      (raw.events as Record<string, unknown>).http = [
        {
          name: 'splunk',
          kind: 'splunk_hec',
          url: hec.url,
          token,
          mode: 'required',
          hec: { ack: true, ack_timeout: '3s' },
        },
      ];
    };
    // The chain's genesis must reach every required sink before the broker serves.
    const refused = await startHarness({ configure: sink('not-the-hec-token-123') }).then(
      async (h) => {
        await h.close();
        return 'started';
      },
      (err: Error) => err.message,
    );
    expect(refused).toMatch(/audit sink splunk is unavailable/);
    expect(refused).not.toContain('not-the-hec-token-123');

    const h = await startHarness({ configure: sink(TOKEN) });
    try {
      const agent = await h.workloadToken('spiffe://test/agent-a');
      hec.failNext(503, { text: 'Server is busy', code: 9 });
      const res = await h.request('/v1/credentials', {
        method: 'POST',
        token: agent,
        json: REQUEST,
      });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ code: 'audit_unavailable' });
      const again = await h.request('/v1/credentials', {
        method: 'POST',
        token: agent,
        json: { ...REQUEST, task: { id: 'siem-2', intent: 'triage' } },
      });
      expect(again.status).toBe(201);
    } finally {
      await h.close();
    }
  });
});

describe('events.syslog sinks in a running broker', () => {
  it('refuses to start with a bad entry, naming its field', async () => {
    const refused = await startHarness({
      configure(raw) {
        (raw.events as Record<string, unknown>).syslog = [
          { name: 'siem', host: '127.0.0.1', port: 514, transport: 'udp', mode: 'required' },
        ];
      },
    }).then(
      async (h) => {
        await h.close();
        return 'started';
      },
      (err: Error) => err.message,
    );
    expect(refused).toContain(
      'events.syslog.0.mode: UDP gives no delivery feedback: a required syslog sink needs tcp or tls',
    );
  });

  it('sends RFC 5424 over TLS by default, verifying the collector against the configured CA', async () => {
    const ca = makeCa('jit-test-ca');
    const receiver = await startStreamReceiver({ tls: makeServerCert(ca) });
    const start = (caPem: string) =>
      startHarness({
        configure(raw) {
          (raw.events as Record<string, unknown>).syslog = [
            {
              name: 'siem',
              host: '127.0.0.1',
              port: receiver.port,
              format: 'cef',
              mode: 'required',
              tls: { ca: caPem, servername: 'localhost' },
            },
          ];
        },
      });
    try {
      // A collector whose certificate the configured CA did not sign is not a collector.
      const wrong = await start(makeCa('other-ca').cert).then(
        async (h) => {
          await h.close();
          return 'started';
        },
        (err: Error) => err.message,
      );
      expect(wrong).toMatch(/audit sink siem is unavailable/);

      const h = await start(ca.cert);
      try {
        const agent = await h.workloadToken('spiffe://test/agent-a');
        const res = await h.request('/v1/credentials', {
          method: 'POST',
          token: agent,
          json: REQUEST,
        });
        expect(res.status).toBe(201);
        const issued = (await res.json()) as { lease_id: string };
        await h.broker.events.flush();
        const arrived = () =>
          receiver.messages.some((m) => parseSyslog(m).msgId === 'credential.issued');
        expect(await eventually(async () => arrived(), 3_000)).toBe(true);
        const messages = receiver.messages.map(parseSyslog);
        const line = messages.find((m) => m.msgId === 'credential.issued');
        expect(line?.facility).toBe(10);
        expect(line?.msg).toMatch(/^CEF:0\|jit-broker\|/);
        expect(line?.msg).toContain(`externalId=${issued.lease_id}`);
      } finally {
        await h.close();
      }
    } finally {
      await receiver.stop();
    }
  });
});
