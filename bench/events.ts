/**
 * Per-event CPU of the event pipeline: redaction, chaining, signing, fan-out to one sink.
 *
 *   npx tsx bench/events.ts [--events 10000] [--rounds 7]
 *
 * Emits `--events` typical `lease.revoked` events (the kill switch's event, with the fields
 * `Revoker` fills) into an `EventBus` with one in-memory sink, the way revocation does
 * (`failClosed: false`, not awaited one by one), then flushes. Reports, per event, the
 * synchronous part of `emit` (what the kill switch pays inline) and the whole run including
 * delivery to the sink, as wall time and as process CPU. One warm-up round is not counted;
 * the figures are the median over the rounds.
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { EventBus } from '../src/events/bus.js';
import type { EventSink } from '../src/events/sink.js';
import type { BrokerEvent, EventInput } from '../src/events/types.js';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index === -1 ? undefined : Number(process.argv[index + 1]);
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

class MemorySink implements EventSink {
  readonly name = 'memory';
  readonly mode = 'required';
  events: BrokerEvent[] = [];
  async write(events: readonly BrokerEvent[]): Promise<void> {
    for (const event of events) this.events.push(event);
  }
}

function revoked(n: number): EventInput {
  const task = Math.floor(n / 4);
  return {
    type: 'lease.revoked',
    outcome: 'success',
    workload: 'agent-compromised',
    subject: 'spiffe://prod.example.internal/ns/agents/sa/agent-compromised',
    issuer: 'spire-prod',
    target: 'github-acme',
    provider: 'jwt',
    lease_id: `lse_${n.toString(32).padStart(26, '0')}`,
    task: { id: `task-${task}`, intent: 'triage ticket INC-4711 and open a fix PR', tool: 'gh' },
    reason: 'workload_revoked',
    policy: 'agents-write',
    policy_hash: `sha256:${'3f'.repeat(32)}`,
    actor: 'oncall@example.com',
    request_id: 'req_0123456789abcdef',
  };
}

interface Round {
  syncWallUs: number;
  syncCpuUs: number;
  totalWallUs: number;
  totalCpuUs: number;
  delivered: number;
}

async function round(count: number): Promise<Round> {
  const sink = new MemorySink();
  const bus = new EventBus({ sinks: [sink] });
  await bus.start();
  await bus.flush();
  const inputs = Array.from({ length: count }, (_, n) => revoked(n));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (const input of inputs) pending.push(bus.emit(input, { failClosed: false }));
  const t1 = performance.now();
  const cpu1 = process.cpuUsage(cpu0);
  await Promise.all(pending);
  await bus.flush();
  const t2 = performance.now();
  const cpu2 = process.cpuUsage(cpu0);
  await bus.close();
  const cpu = (usage: NodeJS.CpuUsage) => usage.user + usage.system;
  return {
    syncWallUs: ((t1 - t0) * 1000) / count,
    syncCpuUs: cpu(cpu1) / count,
    totalWallUs: ((t2 - t0) * 1000) / count,
    totalCpuUs: cpu(cpu2) / count,
    delivered: sink.events.length,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const count = option('events', 10_000);
  const rounds = option('rounds', 7);
  await round(count);
  const results: Round[] = [];
  for (let n = 0; n < rounds; n += 1) results.push(await round(count));
  const figure = (pick: (r: Round) => number) => median(results.map(pick)).toFixed(1);
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `${count} lease.revoked events × ${rounds} rounds (median), ${cpu}, Node ${process.version}`,
  );
  console.log('| | µs/event, wall | µs/event, CPU |');
  console.log('| --- | --- | --- |');
  console.log(
    `| emit, synchronous part | ${figure((r) => r.syncWallUs)} | ${figure((r) => r.syncCpuUs)} |`,
  );
  console.log(
    `| emit + delivery to the sink | ${figure((r) => r.totalWallUs)} | ${figure((r) => r.totalCpuUs)} |`,
  );
  console.log(
    `events delivered per round (genesis and checkpoints included): ${median(results.map((r) => r.delivered))}`,
  );
}

await main();
