import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../../src/events/bus.js';
import {
  createSinks,
  readSinkConfigs,
  SINK_KINDS,
  type SinkDeps,
  sinkFactories,
} from '../../../src/events/sinks/index.js';
import { configIssues } from '../../helpers/config-issues.js';
import { parseSyslog, startUdpReceiver } from '../../helpers/syslog-receiver.js';

/*
 * The sink registry: every kind reads its own entries under `events`, as the YAML file holds
 * them (snake_case, durations as text), and `createSinks` builds each from its factory.
 */

const TOKEN = 'hec-token-7f3a9c1e5b2d';

const deps = (extra: Partial<SinkDeps> = {}): SinkDeps => ({
  keyPrefix: 'jit',
  metrics: { watchEventStream: vi.fn() },
  eventsOut: new PassThrough(),
  ...extra,
});

const issuesOf = configIssues;

describe('sink registry', () => {
  it('has one factory per kind, each reading its own section', () => {
    const sections = SINK_KINDS.map((kind) => {
      expect(sinkFactories[kind].kind).toBe(kind);
      return sinkFactories[kind].section.key;
    });
    expect(new Set(sections).size).toBe(SINK_KINDS.length);
  });

  it('fills in every default of an empty events section: stdout on, the Redis stream required', () => {
    const { sinks, issues } = readSinkConfigs({});
    expect(issues).toEqual([]);
    expect(sinks).toEqual([
      {
        kind: 'stdout',
        path: 'events.stdout',
        config: { enabled: true, format: 'json', mode: 'best_effort' },
      },
      {
        kind: 'redis-stream',
        path: 'events.redis_stream',
        config: {
          enabled: true,
          stream: 'events',
          retention: 7 * 86_400_000,
          max_entries: 1_000_000,
          format: 'json',
          mode: 'required',
        },
      },
    ]);
  });

  it('builds every configured sink in order, from snake_case entries with durations as text', () => {
    const sinks = createSinks(
      {
        stdout: { format: 'ocsf' },
        http: [
          { name: 'hook', kind: 'webhook', url: 'https://siem.example/in' },
          {
            name: 'splunk',
            kind: 'splunk_hec',
            url: 'https://splunk.example:8088',
            token: TOKEN,
            mode: 'required',
            hec: { ack: true, ack_timeout: '3s' },
          },
        ],
        syslog: [{ name: 'siem', host: 'syslog.example', port: 6514, timeout: '2s' }],
      },
      deps(),
    );
    expect(sinks.map((s) => [s.name, s.mode])).toEqual([
      ['stdout', 'best_effort'],
      ['hook', 'best_effort'],
      ['splunk', 'required'],
      ['siem', 'best_effort'],
    ]);
  });

  it('writes the stdout sink to the stream it is given, in the configured format', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
    const sinks = createSinks(
      { stdout: { format: 'ocsf' }, redis_stream: { enabled: false } },
      deps({ eventsOut: out }),
    );
    const bus = new EventBus({ sinks });
    await bus.start();
    await bus.close();
    const genesis = JSON.parse(chunks.join('').split('\n')[0] ?? 'null') as { type_uid?: number };
    expect(genesis.type_uid).toBe(600399);
  });

  it('leaves out a disabled sink, and the Redis stream without a Redis (memory store)', () => {
    const watch = vi.fn();
    const sinks = createSinks(
      { stdout: { enabled: false }, redis_stream: { enabled: true } },
      deps({ metrics: { watchEventStream: watch } }),
    );
    expect(sinks).toEqual([]);
    expect(watch).not.toHaveBeenCalled();
  });

  it('refuses a bad entry naming its field path, never its value', () => {
    const found = issuesOf(() =>
      createSinks(
        {
          stdout: { format: 'xml' },
          http: [
            { name: 'ok', kind: 'webhook', url: 'https://x.example/' },
            { name: 'leaky', kind: 'webhook', url: 'http://siem.example/', token: TOKEN },
          ],
          syslog: [{ name: 's', host: 'h', port: 514, extra: 1 }],
        },
        deps(),
      ),
    );
    expect(found).toEqual([
      expect.stringMatching(/^events\.stdout\.format: /),
      'events.http.1.url: a token is sent over https only (or to a collector on this machine)',
      expect.stringMatching(/^events\.syslog\.0: .*extra/),
    ]);
    expect(found.join('\n')).not.toContain(TOKEN);
  });

  it('refuses the same name on two sinks, whatever their kinds', () => {
    expect(
      readSinkConfigs({
        http: [{ name: 'dup', kind: 'webhook', url: 'https://x.example/' }],
        syslog: [{ name: 'dup', host: 'h', port: 514 }],
      }).issues,
    ).toEqual(['events.http: sink names must be unique']);
  });

  it('names the entry when a sink refuses what its schema let through, without the secret', () => {
    const found = issuesOf(() =>
      createSinks(
        { http: [{ name: 'hook', kind: 'webhook', url: `https://user:${TOKEN}@x.example/` }] },
        deps(),
      ),
    );
    expect(found).toEqual([
      'events.http.0: httpSink hook: url must not carry credentials; use token',
    ]);
  });
});

describe('sink registry entries reach the sinks', () => {
  it('a syslog entry keeps its transport, format, facility and app name', async () => {
    const udp = await startUdpReceiver();
    try {
      const sinks = createSinks(
        {
          stdout: { enabled: false },
          syslog: [
            {
              name: 'siem',
              host: '127.0.0.1',
              port: udp.port,
              transport: 'udp',
              format: 'cef',
              facility: 4,
              app_name: 'jit-test',
            },
          ],
        },
        deps(),
      );
      const bus = new EventBus({ sinks });
      await bus.start();
      const [genesis] = (await udp.waitFor(1)).map(parseSyslog);
      expect(genesis).toMatchObject({ facility: 4, appName: 'jit-test', msgId: 'chain.genesis' });
      expect(genesis?.msg).toMatch(/^CEF:0\|/);
      await bus.close();
    } finally {
      await udp.stop();
    }
  });
});
