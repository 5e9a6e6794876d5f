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
import { STREAM_FIELD } from '../src/events/sinks/redis-stream/index.js';
import { waitReady } from '../src/leases/redis-client.js';
import { RedisStreamHistory } from '../src/workloads/event-history.js';
import { MAX_REPORT_LEASES, type ReportDeps, workloadReport } from '../src/workloads/report.js';
import { openLeaseStore } from './lib/lease-store.js';
import { seedActiveLeases } from './lib/leases.js';
import { adminClient, deletePrefix, redisVersion, runPrefix } from './lib/redis.js';
import { heading, machine, option, progress, table, timedRows } from './lib/report.js';

const leases = option('leases', MAX_REPORT_LEASES);
const entries = option('stream', 50_000);
const runs = option('runs', 7);
const prefix = runPrefix('report');
const stream = `${prefix}:events`;
const admin = adminClient();
const { redis, store } = openLeaseStore(prefix);
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

try {
  await waitReady(redis, 10_000);
  progress(`seeding ${leases} active leases of ${WORKLOAD} and ${leases} of ten others`);
  await seedActiveLeases({
    store,
    count: 2 * leases,
    concurrency: 64,
    lease: (i) => ({
      workload: i < leases ? WORKLOAD : `other-${i % 10}`,
      task: i,
      target: 't0',
      ttlMs: 3_600_000,
    }),
  });
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
  const rows = await timedRows(runs, [
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
  ]);
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
