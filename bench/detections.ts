/**
 * What detections cost. (1) Issuance over HTTP on two brokers on one Redis, the same policy,
 * one with no detection and one with 20 rules that all read issuance events; rounds
 * alternate, and each round's process CPU (the broker, its detections, and the client, the
 * same for both) is divided by its requests, after the detection queue had time to drain.
 * (2) Replay: 20 rules over synthetic recorded events with the memory state, events/s.
 * (3) Evaluation alone: the live engine with the Redis state on issuance events, process CPU
 * per event with the 20 rules, and with none (the floor: the loop and the events), in the
 * same run, rounds alternating.
 *
 *   npx tsx bench/detections.ts [--rounds 6] [--requests 400] [--concurrency 8] [--events 200000]
 */
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { workloadSchema } from '../src/config/schema.js';
import { detectionsSchema } from '../src/detections/config.js';
import { DetectionEngine } from '../src/detections/engine.js';
import { RedisDetectionState } from '../src/detections/redis-state.js';
import { eventFromLine, replay } from '../src/detections/replay.js';
import type { BrokerEvent } from '../src/events/types.js';
import type { RunningBroker } from '../src/server.js';
import { agentIssuance, issuanceRound } from './lib/agent-issuance.js';
import { JWT_TARGET } from './lib/config.js';
import { adminClient, deletePrefix, runPrefix } from './lib/redis.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    requests: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '8' },
    events: { type: 'string', default: '200000' },
  },
});
const ROUNDS = Number(values.rounds);
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const EVENTS = Number(values.events);
/** After each round, time for the detection queue to drain (counted in both runs alike). */
const SETTLE_MS = 250;

/** 20 rules, five of each kind an issuance reaches; none fires on the bench's steady traffic. */
function twentyRules(): object[] {
  const rules: object[] = [];
  for (let i = 0; i < 5; i++) {
    rules.push(
      {
        name: `first-target-${i}`,
        kind: 'first_seen',
        of: i % 2 ? 'scope' : 'target',
        days: 30,
        actions: ['alert'],
      },
      {
        name: `rate-${i}`,
        kind: 'rate_baseline',
        window: '5m',
        baseline: '1d',
        multiple: 1_000,
        min_count: 100_000,
        actions: ['alert'],
      },
      {
        name: `hours-${i}`,
        kind: 'time_window',
        days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
        actions: ['alert'],
      },
      { name: `network-${i}`, kind: 'new_network', actions: ['alert'] },
    );
  }
  return rules;
}

async function issuanceCpu(): Promise<void> {
  const agent = await agentIssuance('detections');
  const { dir, token, prefixes } = agent;
  const start = (rules: object[]): Promise<RunningBroker> =>
    agent.start({ label: rules.length > 0 ? 'det' : 'nod', extra: { detections: rules } });
  const none = await start([]);
  const twenty = await start(twentyRules());
  if (twenty.runtime().config.detections.length !== 20) throw new Error('expected 20 rules');

  async function round(broker: RunningBroker): Promise<{ latencies: number[]; cpuUs: number }> {
    const cpu = process.cpuUsage();
    const latencies = await issuanceRound(broker, token, REQUESTS, CONCURRENCY);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const used = process.cpuUsage(cpu);
    return { latencies, cpuUs: used.user + used.system };
  }

  // The floor of the process between rounds (timers, checkpoints) over the settle time alone.
  const idle = process.cpuUsage();
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const idleUsed = process.cpuUsage(idle);
  const idleUs = idleUsed.user + idleUsed.system;

  await round(none);
  await round(twenty);
  const cpu = { none: [] as number[], twenty: [] as number[] };
  const lat = { none: [] as number[], twenty: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? (['none', 'twenty'] as const) : (['twenty', 'none'] as const);
    for (const which of order) {
      const r = await round(which === 'none' ? none : twenty);
      cpu[which].push(r.cpuUs / r.latencies.length);
      lat[which].push(...r.latencies);
      process.stderr.write(
        `round ${i + 1} ${which}: ${(r.cpuUs / r.latencies.length).toFixed(0)} µs CPU/request\n`,
      );
    }
  }
  await twenty.events.flush();
  const fired = twenty.metrics.registry.getSingleMetric('jit_detections_fired_total');
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const p = (xs: number[], q: number) =>
    [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))] ?? 0;
  const a = median(cpu.none);
  const b = median(cpu.twenty);
  console.log('## Detections on issuance: 0 vs 20 rules\n');
  console.log(
    `${ROUNDS} interleaved rounds × ${REQUESTS} requests, concurrency ${CONCURRENCY}, jwt target, Redis store; process CPU per request (broker + client + detections), median of rounds; idle floor ${(idleUs / REQUESTS).toFixed(0)} µs/request per round\n`,
  );
  console.log('| run | CPU µs/request | p50 ms | p99 ms |');
  console.log('|---|---|---|---|');
  console.log(
    `| 0 rules | ${a.toFixed(0)} | ${p(lat.none, 0.5).toFixed(2)} | ${p(lat.none, 0.99).toFixed(2)} |`,
  );
  console.log(
    `| 20 rules | ${b.toFixed(0)} | ${p(lat.twenty, 0.5).toFixed(2)} | ${p(lat.twenty, 0.99).toFixed(2)} |`,
  );
  console.log(`| overhead | ${(((b - a) / a) * 100).toFixed(1)}% | | |`);
  console.log(
    `\nfirings during the run: ${JSON.stringify((await fired?.get())?.values.map((v) => v.value) ?? [])}\n`,
  );

  await none.close();
  await twenty.close();
  const redis = adminClient();
  for (const prefix of prefixes) await deletePrefix(redis, prefix);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
}

/** Synthetic recorded events: issuances, denials and refused tokens of 100 workloads. */
function syntheticEvents(n: number): string[] {
  const lines: string[] = [];
  const t0 = Date.parse('2026-03-02T00:00:00Z');
  for (let i = 0; i < n; i++) {
    const w = `agent-${i % 100}`;
    const kind = i % 10;
    const base = {
      id: `evt_${i.toString(36).padStart(8, '0')}`,
      seq: i,
      instance: 'bench',
      prev: '0'.repeat(64),
      time: new Date(t0 + i * 50).toISOString(),
      severity: 'low',
      workload: w,
      subject: `spiffe://bench/${w}`,
      issuer: 'bench',
      target: `target-${i % 7}`,
      task: { id: `t-${i % 500}`, intent: 'triage', tool: `tool-${i % 13}` },
      source_ip: `10.${i % 3}.${i % 5}.${i % 250}`,
    };
    const event =
      kind < 6
        ? {
            ...base,
            type: 'credential.issued',
            outcome: 'success',
            scope: { scopes: [`s:${i % 11}`] },
          }
        : kind < 9
          ? {
              ...base,
              type: 'credential.denied',
              outcome: 'denied',
              reason: i % 2 ? 'scope_exceeds_ceiling' : 'policy_denied',
              detail: { reasons: [{ code: 'tier_exceeded', message: 'x' }] },
            }
          : {
              ...base,
              workload: undefined,
              type: 'auth.failed',
              outcome: 'failure',
              reason: 'expired',
            };
    lines.push(JSON.stringify(event));
  }
  return lines;
}

async function replayRate(): Promise<void> {
  const workloads = Array.from({ length: 100 }, (_, i) =>
    workloadSchema.parse({
      id: `agent-${i}`,
      issuer: 'bench',
      subject: `spiffe://bench/agent-${i}`,
      tier: i % 2 ? 'read' : 'write',
    }),
  );
  const rules = detectionsSchema.parse([
    ...twentyRules().slice(0, 14),
    { name: 'burst', kind: 'denial_burst', count: 20, window: '1m', actions: ['alert'] },
    {
      name: 'burst-read',
      kind: 'denial_burst',
      count: 5,
      window: '10s',
      actions: ['block'],
      workloads: ['tier:read'],
    },
    { name: 'escalation', kind: 'scope_escalation', count: 5, window: '1m', actions: ['block'] },
    {
      name: 'escalation-agents',
      kind: 'scope_escalation',
      count: 3,
      window: '1m',
      actions: ['alert'],
      workloads: ['agent-1*'],
    },
    { name: 'auth', kind: 'auth_failures', count: 5, window: '1m', actions: ['alert'] },
    {
      name: 'hours',
      kind: 'time_window',
      hours: { from: '08:00', to: '18:00' },
      actions: ['alert'],
    },
  ]);
  const lines = syntheticEvents(EVENTS);
  const results: { parse: number; total: number; firings: number }[] = [];
  for (let run = 0; run < 3; run++) {
    const began = performance.now();
    const events = lines
      .map((l) => eventFromLine(l))
      .filter((e): e is BrokerEvent => e !== undefined);
    const parsed = performance.now();
    const result = await replay({ rules, workloads }, events);
    const done = performance.now();
    results.push({ parse: parsed - began, total: done - began, firings: result.firings.length });
    process.stderr.write(
      `replay run ${run + 1}: ${(EVENTS / ((done - began) / 1000)).toFixed(0)} events/s\n`,
    );
  }
  const best = results.reduce((x, y) => (y.total < x.total ? y : x));
  // The floor in the same run: the same events through an engine with no rule.
  const floorEvents = lines
    .map((l) => eventFromLine(l))
    .filter((e): e is BrokerEvent => e !== undefined);
  let floorMs = Number.POSITIVE_INFINITY;
  for (let run = 0; run < 3; run++) {
    const began = performance.now();
    await replay({ rules: [], workloads }, floorEvents);
    floorMs = Math.min(floorMs, performance.now() - began);
  }
  console.log('## Replay\n');
  console.log(
    `${EVENTS} synthetic events (100 workloads; 60% issuances, 30% denials, 10% refused tokens), ${rules.length} rules, memory state; best of 3\n`,
  );
  console.log('| step | events/s |');
  console.log('|---|---|');
  console.log(`| parse JSON lines + replay | ${(EVENTS / (best.total / 1000)).toFixed(0)} |`);
  console.log(`| replay alone | ${(EVENTS / ((best.total - best.parse) / 1000)).toFixed(0)} |`);
  console.log(`| floor: replay with no rule | ${(EVENTS / (floorMs / 1000)).toFixed(0)} |`);
  console.log(`\nfirings: ${best.firings}\n`);
}

/** Process CPU per event of the live engine (Redis state) over issuance events. */
async function evaluationCpu(): Promise<void> {
  const redis = adminClient();
  const prefix = runPrefix('deteval');
  const workloads = [
    workloadSchema.parse({ id: 'agent', issuer: 'bench', subject: 's', tier: 'write' }),
  ];
  const engineOf = (rules: object[]) =>
    new DetectionEngine({
      rules: detectionsSchema.parse(rules),
      workloads,
      state: new RedisDetectionState(redis, prefix),
    });
  const engines = { none: engineOf([]), twenty: engineOf(twentyRules()) };
  let seq = 0;
  const issued = (): BrokerEvent => {
    seq += 1;
    return {
      id: `evt_${seq}`,
      seq,
      instance: 'bench',
      prev: '',
      time: new Date().toISOString(),
      severity: 'info',
      type: 'credential.issued',
      outcome: 'success',
      workload: 'agent',
      target: JWT_TARGET,
      scope: { scopes: ['tickets:read'] },
      task: { id: `t-${seq}`, intent: 'triage' },
      source_ip: '127.0.0.1',
    };
  };
  const PER_ROUND = 3_000;
  const cpu: Record<keyof typeof engines, number[]> = { none: [], twenty: [] };
  for (let round = 0; round < ROUNDS + 1; round++) {
    const order = round % 2 ? (['twenty', 'none'] as const) : (['none', 'twenty'] as const);
    for (const name of order) {
      const began = process.cpuUsage();
      for (let i = 0; i < PER_ROUND; i++) await engines[name].observe(issued());
      const used = process.cpuUsage(began);
      // Round 0 warms up.
      if (round > 0) cpu[name].push((used.user + used.system) / PER_ROUND);
    }
  }
  await deletePrefix(redis, prefix);
  redis.disconnect();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  console.log('## Detection evaluation alone: 0 vs 20 rules\n');
  console.log(
    `${ROUNDS} interleaved rounds × ${PER_ROUND} issuance events, the live engine with the Redis state; process CPU per event, median of rounds\n`,
  );
  console.log('| run | CPU µs/event |');
  console.log('|---|---|');
  console.log(`| floor: 0 rules | ${median(cpu.none).toFixed(1)} |`);
  console.log(`| 20 rules | ${median(cpu.twenty).toFixed(1)} |`);
  console.log(`| the rules' own cost | ${(median(cpu.twenty) - median(cpu.none)).toFixed(1)} |\n`);
}

async function main(): Promise<void> {
  const { loadavg, cpus } = await import('node:os');
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${cpus().length} CPUs\n`,
  );
  await replayRate();
  await evaluationCpu();
  await issuanceCpu();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
