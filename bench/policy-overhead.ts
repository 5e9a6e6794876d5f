/**
 * What budgets cost issuance over HTTP. Two brokers on one Redis, the same approval-free
 * policy, one with request and live-lease budgets (limits high enough never to refuse), one
 * without; rounds alternate between them so the machine's load falls on both alike.
 *
 *   npx tsx bench/policy-overhead.ts [--rounds 6] [--requests 400] [--concurrency 8]
 */
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { RunningBroker } from '../src/server.js';
import { agentIssuance, issuanceRound } from './lib/agent-issuance.js';
import { adminClient, type CommandStat, commandStats, deletePrefix } from './lib/redis.js';

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

const BUDGETS = {
  requests: { per_workload: 1_000_000, per_task: 1_000_000, per_policy: 1_000_000, window: '1h' },
  live_leases: { per_workload: 1_000_000, per_task: 1_000_000, per_policy: 1_000_000 },
};

async function main(): Promise<void> {
  const agent = await agentIssuance('policy-overhead');
  const { dir, token, prefixes } = agent;
  const start = (budgets: boolean): Promise<RunningBroker> =>
    agent.start({ label: budgets ? 'pob' : 'pon', policy: budgets ? { budgets: BUDGETS } : {} });
  const plain = await start(false);
  const budgeted = await start(true);

  const round = (broker: RunningBroker) => issuanceRound(broker, token, REQUESTS, CONCURRENCY);

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
