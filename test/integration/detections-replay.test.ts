import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runReplay } from '../../src/cli/detections.js';
import { CliError, type OperatorIo } from '../../src/cli/io.js';
import type { Firing } from '../../src/detections/types.js';
import { type Harness, sleep, startHarness } from '../helpers/broker-harness.js';
import { eventually } from '../helpers/lease-http.js';
import { REDIS_URL, redisAvailable, requireService } from '../helpers/services.js';

/*
 * `detections replay` over what a live broker recorded (its Redis Stream, and the same events
 * as an export file) prints the firings the live path recorded, at the same events.
 */

const ready = await requireService('redis', await redisAvailable());

const RULES = [
  {
    name: 'burst',
    kind: 'denial_burst',
    count: 3,
    window: '1m',
    cooldown: '1m',
    actions: ['alert'],
  },
  {
    name: 'escalation',
    kind: 'scope_escalation',
    count: 2,
    window: '1m',
    actions: ['block'],
    mode: 'dry_run',
  },
  { name: 'new-scope', kind: 'first_seen', of: 'scope', days: 7, actions: ['alert'] },
];

describe.skipIf(!ready)('detections replay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jit-replay-'));
  let h: Harness;
  let live: string[];
  const configFile = join(dir, 'config.yaml');
  const exportFile = join(dir, 'events.jsonl');

  beforeAll(async () => {
    h = await startHarness({
      store: 'redis',
      configure(raw) {
        raw.detections = RULES;
      },
    });
    const a = await h.workloadToken('spiffe://test/agent-a');
    const b = await h.workloadToken('spiffe://test/agent-b');
    const ask = (token: string, scopes: string[], id: string) =>
      h.request('/v1/credentials', {
        method: 'POST',
        token,
        json: { target: 'tickets', scope: { scopes }, task: { id, intent: 'triage' } },
      });
    await ask(a, ['tickets:read'], 'r1');
    for (let i = 0; i < 9; i++) await ask(i % 3 ? a : b, ['tickets:admin'], `x${i}`);
    await ask(a, ['tickets:comment'], 'c1');
    await ask(b, ['tickets:read'], 'r2');
    expect(
      await eventually(
        async () =>
          (await h.flushedEvents()).filter((e) => e.type === 'detection.fired').length >= 4,
      ),
    ).toBe(true);
    await sleep(300);
    const events = await h.flushedEvents();
    live = events
      .filter((e) => e.type === 'detection.fired')
      .map((e) => {
        const d = e.detail as { rule: string; trigger: { id: string } };
        return `${d.rule} ${e.workload} ${d.trigger.id}`;
      })
      .sort();
    writeFileSync(exportFile, `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
    // What replay reads of a configuration: its workloads and detections.
    writeFileSync(
      configFile,
      stringify({
        workloads: h.config.workloads.map(({ id, issuer, subject, tier }) => ({
          id,
          issuer,
          subject,
          tier,
        })),
        detections: RULES,
      }),
    );
  });
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(args: { from: string; since?: string; config?: string }, output = 'json') {
    const out: string[] = [];
    const warnings: string[] = [];
    const io: OperatorIo = {
      env: { REDIS_URL },
      fetch: globalThis.fetch,
      out: (line) => out.push(line),
      warn: (line) => warnings.push(line),
      read: async (path) => (await import('node:fs')).readFileSync(path, 'utf8'),
    };
    await runReplay(
      io,
      {
        config: args.config ?? configFile,
        from: args.from,
        prefix: h.config.redis.key_prefix,
        stream: 'events',
        ...(args.since === undefined ? {} : { since: args.since }),
      },
      output,
    );
    return { out, warnings };
  }
  const keys = (out: string[]) =>
    (JSON.parse(out.join('\n')) as Firing[])
      .map((f) => `${f.rule} ${f.workload} ${f.trigger.id}`)
      .sort();

  it('over the export file fires what the live path fired', async () => {
    const { out, warnings } = await run({ from: exportFile });
    expect(live.length).toBeGreaterThanOrEqual(4);
    expect(keys(out)).toEqual(live);
    expect(warnings.at(-1)).toMatch(/firings over \d+ events .* events\/s/);
  });

  it('over the Redis Stream, within --since, fires the same', async () => {
    const { out } = await run({ from: 'stream', since: '7d' });
    expect(keys(out)).toEqual(live);
    // Nothing recorded in the future: an empty window replays nothing.
    const none = await run({ from: exportFile, since: '0s' });
    expect(JSON.parse(none.out.join('\n'))).toEqual([]);
  });

  it('prints one line per firing as text, the dry-run ones said to be', async () => {
    const { out } = await run({ from: exportFile }, 'table');
    expect(out).toHaveLength(live.length);
    expect(
      out.some((l) => /escalation \(scope_escalation\).*would=dry_run \(block\)/.test(l)),
    ).toBe(true);
  });

  it('refuses a configuration whose detections do not validate, naming the field', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      stringify({
        workloads: [],
        detections: [
          { name: 'x', kind: 'denial_burst', count: 3, window: '3d', actions: ['alert'] },
        ],
      }),
    );
    const err = await run({ from: exportFile, config: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).message).toMatch(/detections\[x\]\.window: between 1s and 24h/);
    expect((err as CliError).exitCode).toBe(2);
  });
});
