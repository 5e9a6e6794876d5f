/**
 * What budgets cost issuance over HTTP. Two brokers on one Redis, the same approval-free
 * policy, one with request and live-lease budgets (limits high enough never to refuse), one
 * without; rounds alternate between them so the machine's load falls on both alike.
 *
 *   npx tsx bench/policy-overhead.ts [--rounds 6] [--requests 400] [--concurrency 8]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createLogger } from '../src/lib/logger.js';
import { type RunningBroker, startBroker } from '../src/server.js';
import { benchRawConfig, JWT_TARGET, parseConfig } from './lib/config.js';
import {
  adminClient,
  type CommandStat,
  commandStats,
  deletePrefix,
  runPrefix,
} from './lib/redis.js';
import { Collector } from './lib/wiring.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    requests: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '8' },
  },
});
const ROUNDS = Number(values.rounds);
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);

const ISSUER = 'https://issuer.bench.example';
const BUDGETS = {
  requests: { per_workload: 1_000_000, per_task: 1_000_000, per_policy: 1_000_000, window: '1h' },
  live_leases: { per_workload: 1_000_000, per_task: 1_000_000, per_policy: 1_000_000 },
};

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'jb-policy-overhead-'));
  const keys = await generateKeyPair('ES256');
  writeFileSync(
    join(dir, 'jwks.json'),
    JSON.stringify({ keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'w1', alg: 'ES256' }] }),
  );
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'w1' })
    .setIssuer(ISSUER)
    .setAudience('jit-broker')
    .setSubject('spiffe://bench/agent')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(keys.privateKey);

  const prefixes: string[] = [];
  const start = async (budgets: boolean): Promise<RunningBroker> => {
    const prefix = runPrefix(budgets ? 'pob' : 'pon');
    prefixes.push(prefix);
    const raw = await benchRawConfig({ prefix });
    Object.assign(raw, {
      issuers: [
        {
          name: 'bench',
          issuer: ISSUER,
          audience: 'jit-broker',
          jwks_file: join(dir, 'jwks.json'),
          algorithms: ['ES256'],
        },
      ],
      workloads: [
        {
          id: 'agent',
          issuer: 'bench',
          subject: 'spiffe://bench/agent',
          tier: 'write',
          max_active_leases: 1_000_000,
        },
      ],
      policies: [
        {
          name: 'agent-tickets',
          workloads: ['agent'],
          target: JWT_TARGET,
          allow: { scopes: ['tickets:read'] },
          intents: ['triage'],
          default_ttl: '10m',
          max_ttl: '1h',
          ...(budgets ? { budgets: BUDGETS } : {}),
        },
      ],
    });
    return startBroker({
      config: parseConfig(raw),
      store: 'redis',
      logger: createLogger({ level: 'warn', destination: new Collector() }),
      eventsOut: new Collector(),
      listen: true,
      reaper: false,
    });
  };
  const plain = await start(false);
  const budgeted = await start(true);

  let task = 0;
  async function round(broker: RunningBroker): Promise<number[]> {
    const latencies: number[] = [];
    let next = 0;
    const worker = async () => {
      while (next < REQUESTS) {
        next += 1;
        task += 1;
        const began = performance.now();
        const res = await fetch(`${broker.url}/v1/credentials`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            target: JWT_TARGET,
            scope: { scopes: ['tickets:read'] },
            task: { id: `t-${task % 50}`, intent: 'triage' },
          }),
        });
        await res.arrayBuffer();
        if (res.status !== 201) throw new Error(`issuance answered ${res.status}`);
        latencies.push(performance.now() - began);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return latencies;
  }

  const results = { plain: [] as number[][], budgeted: [] as number[][] };
  // Redis work per issuance, from `INFO commandstats` around each round. The server is shared,
  // so other clients only add: the smallest round is the closest figure.
  const admin = adminClient();
  const work = {
    plain: { scripts: Infinity, commands: Infinity, usec: Infinity },
    budgeted: { scripts: Infinity, commands: Infinity, usec: Infinity },
  };
  const totals = (stats: Map<string, CommandStat>) => {
    let scripts = 0;
    let commands = 0;
    let usec = 0;
    for (const [name, stat] of stats) {
      if (name === 'info') continue;
      if (name === 'evalsha' || name === 'eval') scripts += stat.calls;
      commands += stat.calls;
      usec += stat.usec;
    }
    return { scripts, commands, usec };
  };
  // Warm both (JIT, connections, script cache) before anything counts.
  await round(plain);
  await round(budgeted);
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate which goes first, so neither always runs on a warmer machine.
    const order = i % 2 === 0 ? (['plain', 'budgeted'] as const) : (['budgeted', 'plain'] as const);
    for (const which of order) {
      const before = totals(await commandStats(admin));
      const began = performance.now();
      const latencies = await round(which === 'plain' ? plain : budgeted);
      const seconds = (performance.now() - began) / 1000;
      const after = totals(await commandStats(admin));
      results[which].push(latencies);
      const w = work[which];
      w.scripts = Math.min(w.scripts, (after.scripts - before.scripts) / latencies.length);
      w.commands = Math.min(w.commands, (after.commands - before.commands) / latencies.length);
      w.usec = Math.min(w.usec, (after.usec - before.usec) / latencies.length);
      process.stderr.write(
        `round ${i + 1} ${which}: ${(latencies.length / seconds).toFixed(0)} req/s\n`,
      );
    }
  }

  const summary = (runs: number[][]) => {
    const all = runs.flat().sort((a, b) => a - b);
    const at = (q: number) => all[Math.min(all.length - 1, Math.floor(q * all.length))] ?? 0;
    const mean = all.reduce((s, v) => s + v, 0) / all.length;
    return { p50: at(0.5), p99: at(0.99), mean };
  };
  const a = summary(results.plain);
  const b = summary(results.budgeted);
  const pct = (x: number, y: number) => `${(((y - x) / x) * 100).toFixed(1)}%`;
  const ms = (v: number) => v.toFixed(2);
  console.log(`## Issuance over HTTP: budgets on vs off\n`);
  console.log(
    `${ROUNDS} interleaved rounds × ${REQUESTS} requests, concurrency ${CONCURRENCY}, jwt target, Redis store\n`,
  );
  console.log('| run | p50 ms | p99 ms | mean ms |');
  console.log('|---|---|---|---|');
  console.log(`| no budgets | ${ms(a.p50)} | ${ms(a.p99)} | ${ms(a.mean)} |`);
  console.log(`| budgets (6 counters) | ${ms(b.p50)} | ${ms(b.p99)} | ${ms(b.mean)} |`);
  console.log(
    `| overhead | ${pct(a.p50, b.p50)} | ${pct(a.p99, b.p99)} | ${pct(a.mean, b.mean)} |`,
  );
  // Rounds side by side: the median of each pair's difference is less moved by one bad round.
  const p50s = (runs: number[][]) => runs.map((r) => summary([r]).p50);
  const pa = p50s(results.plain);
  const pairs = p50s(results.budgeted)
    .map((v, i) => (v - (pa[i] ?? v)) / (pa[i] ?? v))
    .sort((x, y) => x - y);
  const mid = pairs[Math.floor(pairs.length / 2)] ?? 0;
  console.log(`\nmedian of per-round p50 overhead: ${(mid * 100).toFixed(1)}%\n`);
  console.log('| per issuance (smallest round) | scripts | Redis commands | Redis µs |');
  console.log('|---|---|---|---|');
  for (const which of ['plain', 'budgeted'] as const) {
    const w = work[which];
    console.log(
      `| ${which === 'plain' ? 'no budgets' : 'budgets'} | ${w.scripts.toFixed(2)} | ${w.commands.toFixed(2)} | ${w.usec.toFixed(0)} |`,
    );
  }
  admin.disconnect();

  await plain.close();
  await budgeted.close();
  const redis = adminClient();
  for (const prefix of prefixes) await deletePrefix(redis, prefix);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
