/**
 * What one least-privilege report costs at its bounds: `workloadReport` over 10,000 leases of
 * one workload (its read bound) and 50,000 event-stream entries (its stream bound), against
 * its floor in the same run: the bare store listing and the bare stream read it is built on.
 *
 *   npx tsx bench/workload-report.ts [--leases 10000] [--stream 50000] [--runs 7]
 *
 * Seeds active leases of one workload (and as many of ten others) straight into a Redis lease
 * store, and stream entries (one in ten a denial of the workload) as the stream sink writes
 * them; then times each read `--runs` times.
 */
import { performance } from 'node:perf_hooks';
import { STREAM_FIELD } from '../src/events/sinks/redis-stream/index.js';
import { createRedisClient, waitReady } from '../src/leases/redis-client.js';
import { RedisLeaseStore } from '../src/leases/redis-store.js';
import { RedisStreamHistory } from '../src/workloads/event-history.js';
import { MAX_REPORT_LEASES, type ReportDeps, workloadReport } from '../src/workloads/report.js';
import { realisticLease } from './lib/leases.js';
import { adminClient, deletePrefix, REDIS_URL, redisVersion, runPrefix } from './lib/redis.js';
import { heading, machine, ms, option, percentile, progress, table } from './lib/report.js';

const leases = option('leases', MAX_REPORT_LEASES);
const entries = option('stream', 50_000);
const runs = option('runs', 7);
const prefix = runPrefix('report');
const stream = `${prefix}:events`;
const admin = adminClient();
const redis = createRedisClient({
  url: REDIS_URL,
  key_prefix: prefix,
  mode: 'standalone',
} as never);
const store = new RedisLeaseStore(redis, prefix, {
  retentionMs: 3_600_000,
  pendingTimeoutMs: 60_000,
  claimTimeoutMs: 30_000,
  maxAttempts: 5,
  failedRetryMs: 60_000,
});
const history = new RedisStreamHistory(redis, stream);
const WORKLOAD = 'w-report';

/** The report reads a runtime: one configured workload and three policies on three targets. */
const policy = (name: string, target: string) => ({
  name,
  effect: 'allow',
  mode: 'enforce',
  config: {
    target,
    allow: { scopes: ['tickets:read', 'tickets:comment', 'tickets:close'] },
    intents: ['triage'],
    default_ttl: 300_000,
    max_ttl: 900_000,
  },
});
const deps = {
  store,
  eventHistory: history,
  leaseRetentionMs: 3_600_000,
  runtime: () => ({
    workloads: new Map([[WORKLOAD, { id: WORKLOAD, tier: 'write' }]]),
    policy: {
      policiesFor: () => [
        policy('agents-read-tickets', 't0'),
        policy('p1', 't1'),
        policy('p2', 't2'),
      ],
    },
    providers: new Map(),
  }),
} as unknown as ReportDeps;

async function timed(run: () => Promise<unknown>): Promise<{ median: number; p90: number }> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const start = performance.now();
    await run();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return { median: percentile(samples, 50), p90: percentile(samples, 90) };
}

try {
  await waitReady(redis, 10_000);
  progress(`seeding ${leases} active leases of ${WORKLOAD} and ${leases} of ten others`);
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      for (let i = next++; i < 2 * leases; i = next++) {
        const workload = i < leases ? WORKLOAD : `other-${i % 10}`;
        const lease = await store.create(
          realisticLease({ workload, task: i, target: 't0', ttlMs: 3_600_000 }),
        );
        await store.activate(lease, 'sealed-handle');
      }
    }),
  );
  progress(`seeding ${entries} stream entries`);
  for (let i = 0; i < entries; i += 1_000) {
    const batch = redis.pipeline();
    for (let j = i; j < Math.min(entries, i + 1_000); j += 1) {
      const event = {
        id: `evt-${j}`,
        time: new Date().toISOString(),
        severity: 'low',
        instance: 'bench',
        seq: j,
        prev: '0'.repeat(64),
        type: j % 10 === 0 ? 'credential.denied' : 'credential.issued',
        outcome: j % 10 === 0 ? 'denied' : 'success',
        workload: j % 20 === 0 ? WORKLOAD : 'other-1',
        target: 't0',
        reason: 'scope_exceeds_ceiling',
      };
      batch.xadd(stream, '*', STREAM_FIELD, JSON.stringify(event));
    }
    await batch.exec();
  }
  const since = Date.now() - 3_600_000;
  const rows: string[][] = [];
  for (const [label, run] of [
    [
      `floor: store.list(${leases + 1}) of the workload`,
      () => store.list({ workload: WORKLOAD }, leases + 1),
    ],
    [
      `floor: stream read back, ${entries} entries`,
      () => history.since(since, entries, () => false),
    ],
    [
      'workloadReport (both reads, tallies, suggestions)',
      () => workloadReport(deps, WORKLOAD, 30 * 86_400_000),
    ],
  ] as const) {
    progress(label);
    const { median, p90 } = await timed(run);
    rows.push([label, ms(median), ms(p90)]);
  }
  const report = await workloadReport(deps, WORKLOAD, 30 * 86_400_000);
  heading(`Workload report at its bounds: ${leases} leases, ${entries} stream entries`);
  console.log(machine(await redisVersion(admin)));
  console.log();
  console.log(table(['what', 'median', 'p90'], rows));
  console.log();
  console.log(
    `report: ${report.used.leases} leases read (truncated: ${report.used.truncated}), ${report.denied.known ? report.denied.count : '?'} denials`,
  );
} finally {
  await deletePrefix(admin, prefix);
  admin.disconnect();
  redis.disconnect();
}
