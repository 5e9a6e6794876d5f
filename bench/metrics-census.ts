/**
 * What one `/metrics` read of the lease store costs: `LeaseStore.census` at its bound and a
 * whole scrape with the store gauges, over N active leases.
 *
 *   npx tsx bench/metrics-census.ts [--leases 20000] [--workloads 100] [--runs 7]
 *
 * Seeds active leases straight into a Redis lease store (create + activate), then times the
 * census at the default bound (`CENSUS_LIMIT`), at a quarter of it (truncated), and a full
 * render of the registry with the store read forced on every scrape.
 */
import { performance } from 'node:perf_hooks';
import { createRedisClient, waitReady } from '../src/leases/redis-client.js';
import { RedisLeaseStore } from '../src/leases/redis-store.js';
import { CENSUS_LIMIT, leaseStoreReader } from '../src/metrics/scrape-readers.js';
import { Metrics } from '../src/metrics.js';
import { realisticLease } from './lib/leases.js';
import { adminClient, deletePrefix, REDIS_URL, redisVersion, runPrefix } from './lib/redis.js';
import { heading, machine, ms, option, percentile, progress, table } from './lib/report.js';

const leases = option('leases', 20_000);
const workloads = option('workloads', 100);
const runs = option('runs', 7);
const prefix = runPrefix('census');
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
  progress(`seeding ${leases} active leases over ${workloads} workloads`);
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      for (let i = next++; i < leases; i = next++) {
        const lease = await store.create(
          realisticLease({
            workload: `w${i % workloads}`,
            task: i,
            target: `t${i % 5}`,
            ttlMs: 3_600_000,
          }),
        );
        await store.activate(lease, 'sealed-handle');
      }
    }),
  );
  const metrics = new Metrics({ version: 'bench' });
  metrics.watch(leaseStoreReader(metrics, store, { maxAgeMs: 0 }));
  const rows: string[][] = [];
  for (const [label, run] of [
    [`census(${CENSUS_LIMIT})`, () => store.census(CENSUS_LIMIT)],
    [`census(${CENSUS_LIMIT / 4}), truncated`, () => store.census(CENSUS_LIMIT / 4)],
    ['whole scrape, store read every time', () => metrics.metrics()],
  ] as const) {
    progress(label);
    const { median, p90 } = await timed(run);
    rows.push([label, ms(median), ms(p90)]);
  }
  metrics.close();
  heading(`Store read per scrape, ${leases} active leases, ${workloads} workloads`);
  console.log(machine(await redisVersion(admin)));
  console.log();
  console.log(table(['what', 'median', 'p90'], rows));
} finally {
  await deletePrefix(admin, prefix);
  admin.disconnect();
  redis.disconnect();
}
