/**
 * Kill switch at scale (issue 4, "Performance"): 10,000 active leases of one workload,
 * revoked by one `Broker.revokeWorkload` call.
 *
 *   npx tsx bench/kill-switch.ts [--leases 10000] [--profile]
 *
 * `--profile` samples the CPU of the two jwt runs (answer → all revoked) and prints the
 * top frames; the .cpuprofile files are left in the temp directory for Chrome DevTools.
 *
 * Runs: the jwt target with signed events (the production path); the same with events
 * switched off (what signing costs); a target whose revoke takes 50 ms at revoke_concurrency
 * 64 and 256 (whether the configured concurrency is the limit).
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { WorkloadRevocationResult } from '../src/broker/index.js';
import { newRequestId } from '../src/lib/ids.js';
import { benchConfig, JWT_TARGET } from './lib/config.js';
import { liveLeases, seedActiveLeases, statesOf, templateHandle } from './lib/leases.js';
import { ONCALL_OPERATOR } from './lib/operator.js';
import { type Probes, type ProcessUsage, processWindow } from './lib/probes.js';
import { type ProfileSummary, printProfile, profiled } from './lib/profile.js';
import {
  adminClient,
  deletePrefix,
  type RedisUsage,
  redisVersion,
  redisWindow,
  runPrefix,
} from './lib/redis.js';
import {
  count,
  flag,
  heading,
  machine,
  ms,
  option,
  percent,
  progress,
  rate,
  sleep,
  table,
} from './lib/report.js';
import { slowRevokeProvider } from './lib/slow-provider.js';
import { assembleBroker } from './lib/wiring.js';

const WORKLOAD = 'agent-compromised';
const SLOW_TARGET = 'slow-api';
const SLOW_REVOKE_MS = 50;

interface RunSpec {
  label: string;
  leases: number;
  /** `undefined`: the configured jwt target. */
  slow?: { concurrency: number };
  events: 'signed' | 'off';
  profile: boolean;
}

interface RunResult {
  spec: RunSpec;
  setupMs: number;
  sealedBytes: number;
  answerMs: number;
  allRevokedMs: number;
  eventsDrainedMs: number;
  answer: WorkloadRevocationResult;
  states: Map<string, number>;
  usage: ProcessUsage;
  redis: RedisUsage;
  probes: ProbeFigures;
  eventsWritten: number;
  warnings: string[];
  /** 1-minute load average when the window closed: the machine is shared. */
  load: number;
  profile?: ProfileSummary;
}

/** What the probes held when the window closed (the Probes object is reused per run). */
interface ProbeFigures {
  claimMs: number;
  finish: { calls: number; meanMs: number };
  emitSyncMs: number;
  emitCalls: number;
  sinkSyncMs: number;
  sinkWrites: string;
  sealerOpenMs: number;
  providerSyncMs: number;
  providerWallMs: number;
}

function figures(probes: Probes): ProbeFigures {
  const finish = probes.store.get('finish');
  const sinks = probes.sinkWall.entries();
  return {
    claimMs: probes.store.get('revokeWorkload').ms,
    finish: { calls: finish.calls, meanMs: finish.meanMs },
    emitSyncMs: probes.emitSync.ms,
    emitCalls: probes.emitSync.calls,
    sinkSyncMs: probes.sinkSync.entries().reduce((sum, [, t]) => sum + t.ms, 0),
    sinkWrites: sinks.map(([name, t]) => `${name} ${t.calls}×${ms(t.meanMs)}`).join(', '),
    sealerOpenMs: probes.sealerOpen.ms,
    providerSyncMs: probes.providerSync.ms,
    providerWallMs: probes.providerWall.ms,
  };
}

async function run(spec: RunSpec): Promise<RunResult> {
  const prefix = runPrefix('ks');
  const admin = adminClient();
  const config = await benchConfig({ prefix });
  const target = spec.slow ? SLOW_TARGET : JWT_TARGET;
  const bench = await assembleBroker({
    config,
    events: spec.events,
    ...(spec.slow
      ? {
          providers: new Map([
            [SLOW_TARGET, slowRevokeProvider(SLOW_TARGET, SLOW_REVOKE_MS, spec.slow.concurrency)],
          ]),
        }
      : {}),
  });
  try {
    const jwt = bench.configured.get(JWT_TARGET);
    if (!jwt) throw new Error('the bench config has no jwt target');
    const shape = { workload: WORKLOAD, task: 0, target, ttlMs: 3_600_000 };
    const handle = await templateHandle(jwt, shape);
    progress(`${spec.label}: seeding ${count(spec.leases)} active leases (prefix ${prefix})`);
    const seeded = await seedActiveLeases({
      store: bench.rawStore,
      sealer: bench.sealer,
      count: spec.leases,
      // Four leases per task, as an agent working on a ticket would hold.
      lease: (i) => ({ ...shape, task: Math.floor(i / 4) }),
      handle: () => handle,
    });
    await bench.events.flush();
    await sleep(200);
    bench.probes.reset();
    const eventsBefore = bench.eventsOut.lines;

    progress(`${spec.label}: kill switch`);
    const closeRedis = await redisWindow(admin);
    const closeProcess = processWindow();
    const start = performance.now();
    let answerMs = 0;
    let allRevokedMs = 0;
    const measured = async (): Promise<WorkloadRevocationResult> => {
      const answer = await bench.broker.revokeWorkload(
        WORKLOAD,
        { reason: 'benchmark: credentials leaked', block: true },
        ONCALL_OPERATOR,
        { requestId: newRequestId() },
      );
      answerMs = performance.now() - start;
      while ((await liveLeases(bench.rawStore, WORKLOAD)) > 0) await sleep(5);
      allRevokedMs = performance.now() - start;
      return answer;
    };
    let answer: WorkloadRevocationResult;
    let profile: ProfileSummary | undefined;
    if (spec.profile) {
      const profiledRun = await profiled('kill-switch', measured);
      answer = profiledRun.result;
      profile = profiledRun.summary;
    } else {
      answer = await measured();
    }
    const probes = figures(bench.probes);
    await bench.events.flush();
    const eventsDrainedMs = performance.now() - start;
    const usage = closeProcess();
    const redis = await closeRedis();

    const { states } = await statesOf(bench.rawStore, seeded.ids);
    return {
      spec,
      setupMs: seeded.ms,
      sealedBytes: seeded.sealedBytes,
      answerMs,
      allRevokedMs,
      eventsDrainedMs,
      answer,
      states,
      usage,
      redis,
      probes,
      eventsWritten: bench.eventsOut.lines - eventsBefore,
      warnings: bench.logs.first,
      load: loadavg()[0] ?? 0,
      ...(profile === undefined ? {} : { profile }),
    };
  } finally {
    await bench.close();
    const deleted = await deletePrefix(admin, prefix);
    progress(`${spec.label}: deleted ${count(deleted)} keys under ${prefix}:`);
    admin.disconnect();
  }
}

function report(results: readonly RunResult[], version: string): void {
  heading(`Kill switch — ${machine(version)}`);
  console.log(
    table(
      [
        'run',
        'leases',
        'setup (create+activate)',
        'answer',
        'all revoked',
        'leases/s',
        'events drained',
        'answer counts',
        'final states',
        'load avg',
      ],
      results.map((r) => [
        r.spec.label,
        count(r.spec.leases),
        `${ms(r.setupMs)} (${rate(r.spec.leases / (r.setupMs / 1000))})`,
        ms(r.answerMs),
        ms(r.allRevokedMs),
        rate(r.spec.leases / (r.allRevokedMs / 1000)),
        ms(r.eventsDrainedMs),
        `${r.answer.revoked}/${r.answer.revoking}/${r.answer.failed}`,
        [...r.states].map(([s, n]) => `${s} ${n}`).join(', '),
        r.load.toFixed(1),
      ]),
    ),
  );
  console.log(
    '\nanswer counts are revoked/revoking/failed as the HTTP answer carries them; sealed ' +
      `handles are the jwt target's own (${results[0]?.sealedBytes ?? 0} B as stored).`,
  );

  heading('Where the time goes');
  console.log(
    table(
      [
        'run',
        'Node CPU (ELU)',
        'CPU per lease: Node / Redis',
        'claim (store.revokeWorkload)',
        'store.finish',
        'event emit, sync',
        'event sinks, sync',
        'sink writes',
        'sealer.open',
        'provider.revoke (sync / wall sum)',
        'Redis CPU',
        'Redis: top commands (server µs)',
      ],
      results.map((r) => {
        const p = r.probes;
        const commands = [...r.redis.commands]
          .sort((a, b) => b[1].usec - a[1].usec)
          .slice(0, 4)
          .map(([name, s]) => `${name} ${count(s.calls)}×/${ms(s.usec / 1000)}`)
          .join(', ');
        return [
          r.spec.label,
          `${ms(r.usage.cpuMs)} (${percent(r.usage.elu, 1)})`,
          `${((1000 * r.usage.cpuMs) / r.spec.leases).toFixed(0)} µs / ${((1000 * r.redis.cpuMs) / r.spec.leases).toFixed(0)} µs`,
          ms(p.claimMs),
          `${count(p.finish.calls)} × ${ms(p.finish.meanMs)} mean`,
          p.emitCalls === 0
            ? 'off'
            : `${ms(p.emitSyncMs)} (${((1000 * p.emitSyncMs) / p.emitCalls).toFixed(0)} µs/event)`,
          ms(p.sinkSyncMs),
          p.sinkWrites || '–',
          ms(p.sealerOpenMs),
          `${ms(p.providerSyncMs)} / ${ms(p.providerWallMs)}`,
          ms(r.redis.cpuMs),
          commands,
        ];
      }),
    ),
  );
  console.log(
    '\nNode CPU is this process over the window (answer → all revoked → events flushed); ' +
      'ELU is the event loop busy share. Store and sink latencies overlap (many in flight).',
  );

  const slow = results.filter((r) => r.spec.slow);
  if (slow.length > 0) {
    heading(`Slow target (revoke takes ${SLOW_REVOKE_MS} ms)`);
    console.log(
      table(
        [
          'revoke_concurrency',
          'theoretical (concurrency / 0.05 s)',
          'measured, whole call',
          'efficiency',
          'measured, after the claim phase',
          'efficiency',
        ],
        slow.map((r) => {
          const c = r.spec.slow?.concurrency ?? 0;
          const ideal = c / (SLOW_REVOKE_MS / 1000);
          const whole = r.spec.leases / (r.allRevokedMs / 1000);
          const execution = r.spec.leases / ((r.allRevokedMs - r.probes.claimMs) / 1000);
          return [
            String(c),
            rate(ideal),
            rate(whole),
            percent(whole, ideal),
            rate(execution),
            percent(execution, ideal),
          ];
        }),
      ),
    );
  }

  const signed = results.find((r) => !r.spec.slow && r.spec.events === 'signed');
  const off = results.find((r) => !r.spec.slow && r.spec.events === 'off');
  if (signed && off) {
    heading('Events: signed vs off (jwt)');
    console.log(
      `Signed events add ${ms(signed.allRevokedMs - off.allRevokedMs)} to the kill switch ` +
        `(${ms(signed.allRevokedMs)} vs ${ms(off.allRevokedMs)}) and ` +
        `${ms(signed.usage.cpuMs - off.usage.cpuMs)} of Node CPU; ` +
        `${count(signed.eventsWritten)} events reached the stdout sink.`,
    );
  }
  for (const r of results) {
    if (r.warnings.length > 0) console.log(`\n${r.spec.label} logged: ${r.warnings.join('\n')}`);
    if (r.profile) printProfile(r.spec.label, r.profile);
  }
}

async function main(): Promise<void> {
  const leases = option('leases', 10_000);
  const profile = flag('profile');
  const specs: RunSpec[] = [
    { label: 'jwt, signed events', leases, events: 'signed', profile },
    { label: 'jwt, events off', leases, events: 'off', profile },
    {
      label: `slow ${SLOW_REVOKE_MS} ms, c=64`,
      leases,
      slow: { concurrency: 64 },
      events: 'signed',
      profile: false,
    },
    {
      label: `slow ${SLOW_REVOKE_MS} ms, c=256`,
      leases,
      slow: { concurrency: 256 },
      events: 'signed',
      profile: false,
    },
  ];
  const admin = adminClient();
  const version = await redisVersion(admin);
  admin.disconnect();
  const results: RunResult[] = [];
  for (const spec of specs) results.push(await run(spec));
  report(results, version);
}

await main();
