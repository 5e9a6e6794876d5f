import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../src/config/load.js';
import type { BrokerConfig } from '../../../src/config/schema.js';
import { readSinkConfigs } from '../../../src/events/sinks/index.js';
import { buildRuntime } from '../../../src/runtime.js';
import { configIssues } from '../../helpers/config-issues.js';

/*
 * Sink entries in the config file: the config schema passes them through, each sink kind reads
 * its own, and building the runtime (what `config validate` and `startBroker` do) refuses a
 * bad one, naming its field.
 */

const KEY = Buffer.alloc(32, 1).toString('base64');

const issues = configIssues;

const validate = (config: BrokerConfig) =>
  buildRuntime(config, { providerContext: { brokerUrl: 'https://b' } });

/** The `events` section as the sink kinds read it, defaults filled in. */
const sinksOf = (config: BrokerConfig) => {
  const read = readSinkConfigs(config.events);
  if (read.issues.length > 0) throw new ConfigError(read.issues);
  return {
    http: read.sinks.filter((s) => s.kind === 'http').map((s) => s.config),
    syslog: read.sinks.filter((s) => s.kind === 'syslog').map((s) => s.config),
  };
};

describe('event sink configuration', () => {
  it('configures HTTP and syslog event sinks with safe defaults, and refuses bad ones', () => {
    const base = `encryption: { keys: [{ id: a, key: "${KEY}" }] }\n`;
    const config = parseConfig(
      `${base}events:\n  http:\n    - { name: splunk, kind: splunk_hec, url: "https://splunk:8088", token: "\${env:HEC}", hec: { ack: true } }\n  syslog:\n    - { name: siem, host: syslog.internal, port: 6514 }\n`,
      { env: { HEC: 'hec-token-0123456789' } },
    );
    const events = sinksOf(config);
    expect(events.http[0]).toMatchObject({
      kind: 'splunk_hec',
      token: 'hec-token-0123456789',
      mode: 'best_effort',
      timeout: 5_000,
      hec: { ack: true, ack_timeout: 30_000 },
    });
    // Syslog goes over TLS unless told otherwise, to authpriv.
    expect(events.syslog[0]).toMatchObject({
      transport: 'tls',
      facility: 10,
      format: 'json',
    });

    const refused = (events: string) =>
      issues(() => validate(parseConfig(`${base}events:\n${events}`)));
    expect(
      refused('  http: [{ name: s, kind: splunk_hec, url: "https://splunk:8088" }]\n'),
    ).toEqual(['events.http.0.token: a splunk_hec sink needs its token']);
    expect(refused('  http: [{ name: s, kind: webhook, url: "ftp://x/" }]\n')[0]).toMatch(
      /^events\.http\.0\.url/,
    );
    expect(
      refused(
        '  http: [{ name: dup, kind: webhook, url: "https://x/" }]\n  syslog: [{ name: dup, host: h, port: 514 }]\n',
      ),
    ).toEqual(['events.http: sink names must be unique']);
    expect(refused('  syslog: [{ name: stdout, host: h, port: 514 }]\n')[0]).toMatch(/taken/);
    expect(
      refused(
        '  http: [{ name: s, kind: webhook, url: "http://siem.example/x", token: "t0ken-0123456789" }]\n',
      ),
    ).toEqual([
      'events.http.0.url: a token is sent over https only (or to a collector on this machine)',
    ]);
    expect(
      refused(
        '  http: [{ name: s, kind: splunk_hec, url: "https://s:8088", token: t, mode: required, hec: { ack: true } }]\n',
      ),
    ).toEqual([
      'events.http.0.hec.ack_timeout: a required sink with acknowledgement needs ack_timeout of at most 5s',
    ]);
    expect(
      refused('  syslog: [{ name: s, host: h, port: 514, transport: udp, mode: required }]\n'),
    ).toEqual([
      'events.syslog.0.mode: UDP gives no delivery feedback: a required syslog sink needs tcp or tls',
    ]);
  });

  it('keeps the shape of the events section: an unknown key or a sink that is not a list is refused when parsed', () => {
    const base = `encryption: { keys: [{ id: a, key: "${KEY}" }] }\n`;
    expect(issues(() => parseConfig(`${base}events:\n  kafka: []\n`))[0]).toMatch(
      /^events: .*kafka/,
    );
    expect(
      issues(() => parseConfig(`${base}events:\n  http: { name: s, kind: webhook }\n`))[0],
    ).toMatch(/^events\.http: /);
  });
});
