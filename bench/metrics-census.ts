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

import { waitReady } from '../src/leases/redis-client.js';
import { CENSUS_LIMIT, leaseStoreReader } from '../src/metrics/scrape-readers.js';
import { Metrics } from '../src/metrics.js';
import { openLeaseStore } from './lib/lease-store.js';
import { seedActiveLeases } from './lib/leases.js';
import { adminClient, deletePrefix, redisVersion, runPrefix } from './lib/redis.js';
import { heading, machine, option, progress, table, timedRows } from './lib/report.js';

const leases = option('leases', 20_000);
const workloads = option('workloads', 100);
const runs = option('runs', 7);
const prefix = runPrefix('census');
const admin = adminClient();
const { redis, store } = openLeaseStore(prefix);

try {
  await waitReady(redis, 10_000);
  progress(`seeding ${leases} active leases over ${workloads} workloads`);
  await seedActiveLeases({
    store,
    count: leases,
    concurrency: 64,
    lease: (i) => ({
      workload: `w${i % workloads}`,
      task: i,
      target: `t${i % 5}`,
      ttlMs: 3_600_000,
    }),
  });
  const metrics = new Metrics({ version: 'bench' });
  metrics.watch(leaseStoreReader(metrics, store, { maxAgeMs: 0 }));
  const rows = await timedRows(runs, [
    [`census(${CENSUS_LIMIT})`, () => store.census(CENSUS_LIMIT)],
    [`census(${CENSUS_LIMIT / 4}), truncated`, () => store.census(CENSUS_LIMIT / 4)],
    ['whole scrape, store read every time', () => metrics.metrics()],
  ]);
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
