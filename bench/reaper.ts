/**
 * Reaper throughput and lag (issue 4, "Performance": at least 2,000 expirations per second,
 * lag under 2 s).
 *
 *   npx tsx bench/reaper.ts [--leases 20000] [--workloads 100] [--window 2000] [--no-steady] [--profile]
 *
 * Writes N active jwt leases across the workloads with expiries spread evenly over a window,
 * then lets 1 and then 2 reaper replicas (each its own process, wired like `serve` with the
 * default reaper settings) expire them. A second scenario (skip with `--no-steady`) holds
 * the target rate itself: 10,000 leases expiring at 2,000/s. Lag is read back from every lease: `revoked_at`
 * (Redis time of the transition to `expired`) minus `expires_at`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { benchRawConfig, JWT_TARGET, parseConfig } from './lib/config.js';
import { seedActiveLeases, statesOf, templateHandle } from './lib/leases.js';
import { printProfile } from './lib/profile.js';
import type { ReplicaCommand, ReplicaReport, ReplicaStats } from './lib/reaper-replica.js';
import { adminClient, deletePrefix, redisVersion, runPrefix } from './lib/redis.js';
import {
  count,
  flag,
  heading,
  machine,
  ms,
  option,
  percent,
  percentile,
  progress,
  rate,
  sleep,
  table,
} from './lib/report.js';
import { assembleBroker, type BenchBroker } from './lib/wiring.js';

const PILOT_WORKLOAD = 'pilot';
const REPLICA = new URL('./lib/reaper-replica.ts', import.meta.url);

interface Scenario {
  label: string;
  leases: number;
  workloads: number;
  /** Expiries are spread evenly over this many ms. */
  windowMs: number;
  replicas: number;
  /** Sample the replicas' CPU over the window and the drain. */
  profile: boolean;
}

interface ScenarioResult {
  scenario: Scenario;
  seedMs: number;
  /** Leases whose expiry came before seeding had finished (reaper and seeding overlapped). */
  overrun: number;
  states: Map<string, number>;
  lags: number[];
  /** Expirations per second from the first expiry to the last transition. */
  drainRate: number;
  /** Most transitions to `expired` within any 1 s. */
  peakPerSecond: number;
  drainMs: number;
  replicas: ReplicaStats[];
  load: string;
}

class Replica {
  readonly #child: ChildProcess;
  readonly #reports: ReplicaReport[] = [];
  readonly #waiters: (() => void)[] = [];

  constructor() {
    // The child inherits tsx's loader through execArgv, so it runs TypeScript as we do.
    this.#child = fork(REPLICA, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child.on('message', (report: ReplicaReport) => {
      this.#reports.push(report);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.#child.on('exit', () => {
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  send(command: ReplicaCommand): void {
    this.#child.send(command);
  }

  async next(type: ReplicaReport['type'], timeoutMs: number): Promise<ReplicaReport> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.#reports.find((r) => r.type === type || r.type === 'failed');
      if (found) {
        if (found.type === 'failed') throw new Error(`reaper replica failed: ${found.error}`);
        return found;
      }
      if (this.#child.exitCode !== null) throw new Error('reaper replica exited early');
      if (performance.now() > deadline) throw new Error(`reaper replica: no ${type} in time`);
      await Promise.race([new Promise<void>((r) => this.#waiters.push(r)), sleep(250)]);
    }
  }

  /** Ends the child by its own pid if it did not exit after `stop`. */
  async end(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.#child.exitCode !== null) resolve();
      else this.#child.once('exit', () => resolve());
    });
    await Promise.race([exited, sleep(10_000)]);
    if (this.#child.exitCode === null && this.#child.pid !== undefined) {
      process.kill(this.#child.pid, 'SIGKILL');
    }
  }
}

async function liveOf(bench: BenchBroker): Promise<number> {
  const summaries = await bench.rawStore.workloads();
  return summaries.reduce((sum, w) => (w.workload === PILOT_WORKLOAD ? sum : sum + w.live), 0);
}

async function run(scenario: Scenario): Promise<ScenarioResult> {
  const prefix = runPrefix('rp');
  const admin = adminClient();
  const raw = await benchRawConfig({ prefix });
  const bench = await assembleBroker({ config: parseConfig(raw) });
  const replicas: Replica[] = [];
  try {
    progress(
      `${scenario.label}: starting ${scenario.replicas} reaper replica(s) (prefix ${prefix})`,
    );
    for (let i = 0; i < scenario.replicas; i += 1) replicas.push(new Replica());
    for (const replica of replicas) replica.send({ type: 'start', raw });
    for (const replica of replicas) await replica.next('ready', 30_000);

    const jwt = bench.configured.get(JWT_TARGET);
    if (!jwt) throw new Error('the bench config has no jwt target');
    const shape = { workload: 'agent-000', task: 0, target: JWT_TARGET, ttlMs: 3_600_000 };
    const handle = await templateHandle(jwt, shape);

    // A pilot batch measures this machine's seeding rate, so the expiry window can start
    // just after seeding ends. Its leases live for an hour and are not counted.
    const pilot = await seedActiveLeases({
      store: bench.rawStore,
      sealer: bench.sealer,
      count: 1000,
      lease: (i) => ({ ...shape, workload: PILOT_WORKLOAD, task: i }),
      handle: () => handle,
    });
    const estimateMs = (scenario.leases / 1000) * pilot.ms;
    const windowStart = Date.now() + 1.3 * estimateMs + 1500;
    progress(
      `${scenario.label}: seeding ${count(scenario.leases)} leases (≈${ms(estimateMs)}), ` +
        `expiring over ${ms(scenario.windowMs)}`,
    );
    let overrun = 0;
    const seeded = await seedActiveLeases({
      store: bench.rawStore,
      sealer: bench.sealer,
      count: scenario.leases,
      lease: (i) => {
        const expiresAt = windowStart + (i / scenario.leases) * scenario.windowMs;
        let ttlMs = Math.round(expiresAt - Date.now());
        // Activation refuses an already expired lease; a short TTL keeps the lease valid.
        if (ttlMs < 1000) {
          overrun += 1;
          ttlMs = 1000;
        }
        return {
          workload: `agent-${String(i % scenario.workloads).padStart(3, '0')}`,
          task: Math.floor(i / (4 * scenario.workloads)),
          target: JWT_TARGET,
          ttlMs,
        };
      },
      handle: () => handle,
    });

    // The replicas' CPU and probe figures cover the expiry window and the drain only.
    await sleep(Math.max(0, windowStart - 200 - Date.now()));
    for (const replica of replicas) replica.send({ type: 'mark', profile: scenario.profile });
    progress(`${scenario.label}: waiting for the reaper`);
    const timeoutAt = windowStart + scenario.windowMs + 90_000;
    while ((await liveOf(bench)) > 0) {
      if (Date.now() > timeoutAt) throw new Error('the reaper did not finish within 90 s');
      await sleep(100);
    }
    const load = loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
    const stats: ReplicaStats[] = [];
    for (const replica of replicas) replica.send({ type: 'stop' });
    for (const replica of replicas) {
      const report = await replica.next('stopped', 30_000);
      if (report.type === 'stopped') stats.push(report.stats);
    }

    const { states, leases } = await statesOf(bench.rawStore, seeded.ids);
    const lags = leases
      .filter((l) => l.state === 'expired' && l.revokedAt !== undefined)
      .map((l) => (l.revokedAt as number) - l.expiresAt)
      .sort((a, b) => a - b);
    const finished = leases
      .map((l) => l.revokedAt)
      .filter((t): t is number => t !== undefined)
      .sort((a, b) => a - b);
    const firstExpiry = Math.min(...leases.map((l) => l.expiresAt));
    const last = finished.at(-1) ?? firstExpiry;
    let peak = 0;
    for (let lo = 0, hi = 0; hi < finished.length; hi += 1) {
      while ((finished[hi] as number) - (finished[lo] as number) >= 1000) lo += 1;
      peak = Math.max(peak, hi - lo + 1);
    }
    return {
      scenario,
      seedMs: seeded.ms,
      overrun,
      states,
      lags,
      drainRate: finished.length / ((last - firstExpiry) / 1000),
      peakPerSecond: peak,
      drainMs: last - firstExpiry,
      replicas: stats,
      load,
    };
  } finally {
    for (const replica of replicas) await replica.end();
    await bench.close();
    const deleted = await deletePrefix(admin, prefix);
    progress(`${scenario.label}: deleted ${count(deleted)} keys under ${prefix}:`);
    admin.disconnect();
  }
}

function report(results: readonly ScenarioResult[], version: string): void {
  heading(`Reaper — ${machine(version)}`);
  console.log(
    table(
      [
        'scenario',
        'replicas',
        'arrival',
        'expirations/s (drain)',
        'peak 1 s',
        'lag p50',
        'lag p95',
        'lag p99',
        'lag max',
        'final states',
        'seeding',
        'load avg',
      ],
      results.map((r) => [
        r.scenario.label,
        String(r.scenario.replicas),
        rate(r.scenario.leases / (r.scenario.windowMs / 1000)),
        rate(r.drainRate),
        rate(r.peakPerSecond),
        ms(percentile(r.lags, 50)),
        ms(percentile(r.lags, 95)),
        ms(percentile(r.lags, 99)),
        ms(percentile(r.lags, 100)),
        [...r.states].map(([s, n]) => `${s} ${count(n)}`).join(', '),
        `${ms(r.seedMs)}${r.overrun > 0 ? ` (${count(r.overrun)} expired before it ended)` : ''}`,
        r.load,
      ]),
    ),
  );
  console.log(
    '\nexpirations/s (drain) = leases / (last transition − first expiry); peak 1 s = most ' +
      'transitions in any second; lag = revoked_at − expires_at of every lease.',
  );
  heading('Where the time goes (per replica process)');
  console.log(
    table(
      [
        'scenario',
        'replica',
        'CPU (window + drain)',
        'CPU / lease',
        'ELU',
        'claimDue calls',
        'finish calls',
        'event emit, sync',
        'sealer.open',
      ],
      results.flatMap((r) =>
        r.replicas.map((s, i) => [
          r.scenario.label,
          `${i + 1}/${r.replicas.length}`,
          ms(s.cpuMs),
          `${s.finishCalls === 0 ? '–' : ((1000 * s.cpuMs) / s.finishCalls).toFixed(0)} µs`,
          percent(s.elu, 1),
          count(s.claimDueCalls),
          count(s.finishCalls),
          `${ms(s.emitSyncMs)} (${s.finishCalls === 0 ? '–' : ((1000 * s.emitSyncMs) / s.finishCalls).toFixed(0)} µs/lease)`,
          ms(s.sealerOpenMs),
        ]),
      ),
    ),
  );
  for (const r of results) {
    for (const s of r.replicas) {
      if (s.logLines > 0)
        console.log(
          `\n${r.scenario.label}: ${s.logLines} log lines, first: ${s.firstLogs.join('\n')}`,
        );
      if (s.profile) printProfile(`reaper replica, ${r.scenario.label}`, s.profile);
    }
  }
}

async function main(): Promise<void> {
  const leases = option('leases', 20_000);
  const workloads = option('workloads', 100);
  const windowMs = option('window', 2000);
  const scenarios: Scenario[] = [];
  for (const replicas of [1, 2]) {
    scenarios.push({
      label: `${count(leases)} due within ${ms(windowMs)}`,
      leases,
      workloads,
      windowMs,
      replicas,
      profile: replicas === 1 && flag('profile'),
    });
  }
  if (!flag('no-steady')) {
    // The target rate itself: 2,000 expirations per second for 5 s.
    for (const replicas of [1, 2]) {
      scenarios.push({
        label: '10,000 at 2,000/s',
        leases: 10_000,
        workloads,
        windowMs: 5000,
        replicas,
        profile: false,
      });
    }
  }
  const admin = adminClient();
  const version = await redisVersion(admin);
  admin.disconnect();
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) results.push(await run(scenario));
  report(results, version);
}

await main();
