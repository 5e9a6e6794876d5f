/**
 * Redis memory per active lease (issue 4, "Performance": under 1 KiB, measured at 100,000).
 *
 *   npx tsx bench/memory.ts [--leases 100000] [--workloads 1000] [--what-if] [--what-if-leases 10000]
 *
 * Writes active leases with realistic fields (two scopes, a task with its tool, four leases
 * per task) through RedisLeaseStore into a private `redis-server` started with the settings
 * deploy/ ships (`hash-max-listpack-value 512`), so `used_memory` counts nothing but them,
 * then reports the `used_memory` delta per lease and the exact `MEMORY USAGE` of every key,
 * by key kind. Two rows: a database-role handle (~120 bytes sealed) and the jwt target's own
 * handle. `--what-if` adds smaller runs with Redis's default settings and with one workload
 * holding every lease.
 */
import { LeaseKeys } from '../src/leases/keys.js';
import { benchConfig, JWT_TARGET } from './lib/config.js';
import { hashFields, type KindUsage, memoryByKind } from './lib/key-memory.js';
import { seedActiveLeases, templateHandle } from './lib/leases.js';
import { startPrivateRedis } from './lib/private-redis.js';
import { adminClient, deletePrefix, redisVersion, runPrefix, usedMemory } from './lib/redis.js';
import {
  bytes,
  count,
  flag,
  heading,
  machine,
  ms,
  option,
  percent,
  progress,
  sleep,
  table,
} from './lib/report.js';
import { assembleBroker } from './lib/wiring.js';

const KIB = 1024;
const LEASES_PER_TASK = 4;
/** The Redis settings of deploy/docker-compose.yml that change memory. */
const DEPLOY_SETTINGS = { 'hash-max-listpack-value': '512' };

interface MemorySpec {
  label: string;
  leases: number;
  workloads: number;
  /** `small`: a database role handle (~120 bytes sealed); `jwt`: the jwt target's own handle. */
  handle: 'small' | 'jwt';
  settings: Record<string, string>;
}

interface MemoryResult {
  spec: MemorySpec;
  seedMs: number;
  sealedBytes: number;
  usedDelta: number;
  kinds: KindUsage[];
  fields: { field: string; bytes: number }[];
}

async function measure(spec: MemorySpec): Promise<MemoryResult> {
  const server = await startPrivateRedis(spec.settings);
  const prefix = runPrefix('mem');
  const admin = adminClient(server.url);
  const bench = await assembleBroker({
    config: await benchConfig({ prefix, redisUrl: server.url }),
  });
  let open = true;
  // The writer's connection goes first: its query buffer would count in used_memory.
  const closeBroker = async () => {
    if (open) await bench.close();
    open = false;
  };
  try {
    const jwt = bench.configured.get(JWT_TARGET);
    if (!jwt) throw new Error('the bench config has no jwt target');
    const workload = (i: number) => `agent-${String(i % spec.workloads).padStart(4, '0')}`;
    const shape = { workload: workload(0), task: 0, target: JWT_TARGET, ttlMs: 3_600_000 };
    const jwtHandle = await templateHandle(jwt, shape);
    const before = await usedMemory(admin);
    progress(`${spec.label}: seeding ${count(spec.leases)} leases`);
    let firstId = '';
    const seeded = await seedActiveLeases({
      store: bench.rawStore,
      sealer: bench.sealer,
      count: spec.leases,
      lease: (i) => ({
        ...shape,
        workload: workload(i),
        task: Math.floor(i / (LEASES_PER_TASK * spec.workloads)),
      }),
      // A PostgreSQL-style role handle: 56 bytes of JSON, 120 sealed.
      handle: (id) => (spec.handle === 'jwt' ? jwtHandle : { role: `jit_${id}`, db: 'app' }),
      onActive: (i, id) => {
        if (i === 0) firstId = id;
      },
    });
    await bench.events.flush();
    await closeBroker();
    const after = await settledMemory(admin);
    progress(`${spec.label}: MEMORY USAGE of every key`);
    const kinds = await memoryByKind(admin, prefix);
    const fields = await hashFields(admin, new LeaseKeys(prefix).lease(firstId));
    return {
      spec,
      seedMs: seeded.ms,
      sealedBytes: seeded.sealedBytes,
      usedDelta: after - before,
      kinds,
      fields,
    };
  } finally {
    await closeBroker();
    await deletePrefix(admin, prefix);
    admin.disconnect();
    await server.stop();
  }
}

/** `used_memory` once closed connections' buffers are gone. */
async function settledMemory(admin: ReturnType<typeof adminClient>): Promise<number> {
  await sleep(1000);
  return usedMemory(admin);
}

function perLease(result: MemoryResult): number {
  return result.kinds.reduce((sum, k) => sum + k.bytes, 0) / result.spec.leases;
}

function kindPerLease(result: MemoryResult, prefix: string): number {
  const kind = result.kinds.find((k) => k.kind.startsWith(prefix));
  return kind ? kind.bytes / result.spec.leases : 0;
}

function settingsLabel(settings: Record<string, string>): string {
  const named = Object.entries(settings).map(([k, v]) => `${k} ${v}`);
  return named.length === 0 ? 'Redis defaults' : named.join(', ');
}

function verdict(result: MemoryResult): string {
  const worst = Math.max(perLease(result), result.usedDelta / result.spec.leases);
  return worst <= KIB ? `met (${bytes(KIB - worst)} to spare)` : `missed by ${bytes(worst - KIB)}`;
}

function report(
  main: readonly MemoryResult[],
  whatIf: readonly MemoryResult[],
  version: string,
): void {
  heading(`Memory — ${machine(version)}`);
  console.log(
    table(
      [
        'leases',
        'workloads',
        'handle (sealed)',
        'settings',
        'used_memory Δ / lease',
        'Σ MEMORY USAGE / lease',
        'target',
        'verdict',
      ],
      main.map((r) => [
        count(r.spec.leases),
        count(r.spec.workloads),
        `${r.spec.handle}, ${bytes(r.sealedBytes)}`,
        settingsLabel(r.spec.settings),
        bytes(r.usedDelta / r.spec.leases),
        bytes(perLease(r)),
        bytes(KIB),
        verdict(r),
      ]),
    ),
  );
  const first = main[0];
  if (!first) return;
  console.log(
    `\nSeeding took ${main.map((r) => ms(r.seedMs)).join(' and ')}. used_memory Δ (a private ` +
      'server, nothing else on it) includes the keyspace and expires tables and allocator slack.',
  );

  heading(`By key kind, ${first.spec.handle} handle (exact MEMORY USAGE, SAMPLES 0)`);
  const total = perLease(first);
  console.log(
    table(
      ['key kind', 'keys', 'encoding', 'total', 'per key', 'per active lease', 'share'],
      first.kinds.map((k) => [
        k.kind,
        count(k.keys),
        [...k.encodings]
          .map(([e, n]) => (k.encodings.size > 1 ? `${e} ${count(n)}` : e))
          .join(', '),
        bytes(k.bytes),
        bytes(k.bytes / k.keys),
        bytes(k.bytes / first.spec.leases),
        percent(k.bytes, total * first.spec.leases),
      ]),
    ),
  );

  heading('One active lease hash: value bytes per field');
  for (const r of main) {
    const payload = r.fields.reduce((sum, f) => sum + f.bytes + f.field.length, 0);
    console.log(
      `${r.spec.handle} handle: ${r.fields.length} fields; names + values = ${bytes(payload)}. ` +
        r.fields.map((f) => `${f.field} ${f.bytes}`).join(', '),
    );
  }

  if (whatIf.length === 0) return;
  heading('What if (same workload shape, other settings)');
  console.log(
    table(
      [
        'settings',
        'handle',
        'leases / workloads',
        'lease hash encoding',
        'lease hash / lease',
        'task index / lease',
        'due zset / lease',
        'Σ MEMORY USAGE / lease',
        'used_memory Δ / lease',
      ],
      whatIf.map((r) => [
        settingsLabel(r.spec.settings),
        `${r.spec.handle} (${r.sealedBytes} B)`,
        `${count(r.spec.leases)} / ${count(r.spec.workloads)}`,
        [...(r.kinds.find((k) => k.kind.startsWith('lease hash'))?.encodings.keys() ?? [])].join(
          ', ',
        ),
        bytes(kindPerLease(r, 'lease hash')),
        bytes(kindPerLease(r, 'task')),
        bytes(kindPerLease(r, 'due zset')),
        bytes(perLease(r)),
        bytes(r.usedDelta / r.spec.leases),
      ]),
    ),
  );
}

async function main(): Promise<void> {
  const leases = option('leases', 100_000);
  const workloads = option('workloads', 1000);
  const probe = await startPrivateRedis({});
  const admin = adminClient(probe.url);
  const version = await redisVersion(admin);
  admin.disconnect();
  await probe.stop();
  const results: MemoryResult[] = [];
  for (const handle of ['small', 'jwt'] as const) {
    results.push(
      await measure({
        label: `deploy settings / ${handle}`,
        leases,
        workloads,
        handle,
        settings: DEPLOY_SETTINGS,
      }),
    );
  }
  const whatIf: MemoryResult[] = [];
  if (flag('what-if')) {
    const small = option('what-if-leases', 10_000);
    const perWorkload = Math.max(1, Math.round(small / (leases / workloads)));
    const variants: MemorySpec[] = [
      {
        label: 'defaults / small',
        leases: small,
        workloads: perWorkload,
        handle: 'small',
        settings: {},
      },
      {
        label: 'defaults / jwt',
        leases: small,
        workloads: perWorkload,
        handle: 'jwt',
        settings: {},
      },
      // The kill switch's shape: one workload holding every lease (its due zset is a skiplist).
      {
        label: 'one workload',
        leases: small,
        workloads: 1,
        handle: 'small',
        settings: DEPLOY_SETTINGS,
      },
    ];
    for (const variant of variants) whatIf.push(await measure(variant));
  }
  report(results, whatIf, version);
}

await main();
