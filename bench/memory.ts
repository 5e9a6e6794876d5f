/**
 * Redis memory per active lease (issue 4, "Performance": under 1 KiB, measured at 100,000).
 *
 *   npx tsx bench/memory.ts [--leases 100000] [--workloads 1000] [--what-if] [--what-if-leases 10000]
 *
 * Writes active leases with realistic fields (two scopes, a task with its tool, a sealed
 * handle of about 120 bytes, four leases per task) through RedisLeaseStore, then reports the
 * `used_memory` delta per lease and the exact `MEMORY USAGE` of every key, by key kind.
 * `--what-if` repeats a smaller run on private `redis-server` processes with other settings
 * and the jwt target's real handle size, to size the proposals in bench/README.md.
 */
import { performance } from 'node:perf_hooks';
import { LeaseKeys } from '../src/leases/keys.js';
import { newLeaseId } from '../src/lib/ids.js';
import { writeCompactLeases } from './lib/compact-layout.js';
import { benchConfig, JWT_TARGET } from './lib/config.js';
import { hashFields, type KindUsage, memoryByKind } from './lib/key-memory.js';
import { seedActiveLeases, templateHandle } from './lib/leases.js';
import { startPrivateRedis } from './lib/private-redis.js';
import {
  adminClient,
  deletePrefix,
  REDIS_URL,
  redisVersion,
  runPrefix,
  usedMemory,
} from './lib/redis.js';
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

interface MemorySpec {
  label: string;
  leases: number;
  workloads: number;
  /** `small`: a database role handle (~120 bytes sealed); `jwt`: the jwt target's own handle. */
  handle: 'small' | 'jwt';
  redisUrl: string;
  settings: string;
  /** `compact`: the proposed layout, simulated (written directly, not by the store). */
  layout: 'store' | 'compact';
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
  const prefix = runPrefix('mem');
  const admin = adminClient(spec.redisUrl);
  const bench = await assembleBroker({
    config: await benchConfig({ prefix, redisUrl: spec.redisUrl }),
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
    progress(`${spec.label}: seeding ${count(spec.leases)} leases (prefix ${prefix})`);
    let firstId = '';
    const handle = (id: string) =>
      // A PostgreSQL-style role handle: 56 bytes of JSON, 120 sealed.
      spec.handle === 'jwt' ? jwtHandle : { role: `jit_${id}`, db: 'app' };
    const lease = (i: number) => ({
      ...shape,
      workload: workload(i),
      task: Math.floor(i / (LEASES_PER_TASK * spec.workloads)),
    });
    if (spec.layout === 'compact') {
      const start = performance.now();
      const writer = adminClient(spec.redisUrl);
      await writeCompactLeases({
        client: writer,
        prefix,
        sealer: bench.sealer,
        count: spec.leases,
        lease,
        handle,
      });
      const seedMs = performance.now() - start;
      await writer.quit();
      const id = newLeaseId();
      const sealedBytes = bench.sealer.seal(id, handle(id)).length;
      await closeBroker();
      const after = await settledMemory(admin);
      return {
        spec,
        seedMs,
        sealedBytes,
        usedDelta: after - before,
        kinds: await memoryByKind(admin, prefix),
        fields: [],
      };
    }
    const seeded = await seedActiveLeases({
      store: bench.rawStore,
      sealer: bench.sealer,
      count: spec.leases,
      lease,
      handle,
      onActive: (i, id) => {
        if (i === 0) firstId = id;
      },
    });
    await bench.events.flush();
    await closeBroker();
    const after = await settledMemory(admin);
    progress(`${spec.label}: MEMORY USAGE of every key`);
    const kinds = await memoryByKind(admin, prefix);
    const fields = await hashFields(admin, new LeaseKeys(prefix).lease(workload(0), firstId));
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
    const deleted = await deletePrefix(admin, prefix);
    progress(`${spec.label}: deleted ${count(deleted)} keys under ${prefix}:`);
    admin.disconnect();
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

function report(main: MemoryResult, whatIf: readonly MemoryResult[], version: string): void {
  heading(`Memory — ${machine(version)}`);
  const total = perLease(main);
  console.log(
    table(
      [
        'leases',
        'workloads',
        'sealed handle',
        'used_memory Δ / lease',
        'Σ MEMORY USAGE / lease',
        'target',
        'verdict',
      ],
      [
        [
          count(main.spec.leases),
          count(main.spec.workloads),
          bytes(main.sealedBytes),
          bytes(main.usedDelta / main.spec.leases),
          bytes(total),
          bytes(KIB),
          total <= KIB && main.usedDelta / main.spec.leases <= KIB
            ? 'met'
            : `missed by ${bytes(Math.max(total, main.usedDelta / main.spec.leases) - KIB)}`,
        ],
      ],
    ),
  );
  console.log(
    `\nSeeding took ${ms(main.seedMs)}. used_memory Δ includes the expires dictionary and ` +
      'allocator slack, and anything other clients of the shared server wrote meanwhile.',
  );

  heading('By key kind (exact MEMORY USAGE, SAMPLES 0)');
  console.log(
    table(
      ['key kind', 'keys', 'encoding', 'total', 'per key', 'per active lease', 'share'],
      main.kinds.map((k) => [
        k.kind,
        count(k.keys),
        [...k.encodings]
          .map(([e, n]) => (k.encodings.size > 1 ? `${e} ${count(n)}` : e))
          .join(', '),
        bytes(k.bytes),
        bytes(k.bytes / k.keys),
        bytes(k.bytes / main.spec.leases),
        percent(k.bytes, total * main.spec.leases),
      ]),
    ),
  );

  heading('One active lease hash: value bytes per field');
  const payload = main.fields.reduce((sum, f) => sum + f.bytes + f.field.length, 0);
  console.log(
    `${main.fields.length} fields; names + values = ${bytes(payload)} of payload. ` +
      main.fields.map((f) => `${f.field} ${f.bytes}`).join(', '),
  );

  if (whatIf.length === 0) return;
  heading('What if (private redis-server, same workload shape)');
  console.log(
    table(
      [
        'layout',
        'settings',
        'handle',
        'leases / workloads',
        'lease hash encoding',
        'lease hash / lease',
        'owner / lease',
        'task index / lease',
        'due zset / lease',
        'Σ MEMORY USAGE / lease',
        'used_memory Δ / lease',
      ],
      whatIf.map((r) => [
        r.spec.layout === 'store' ? 'as src writes it' : 'proposed (simulated)',
        r.spec.settings,
        `${r.spec.handle} (${r.sealedBytes} B)`,
        `${count(r.spec.leases)} / ${count(r.spec.workloads)}`,
        [...(r.kinds.find((k) => k.kind.startsWith('lease hash'))?.encodings.keys() ?? [])].join(
          ', ',
        ),
        bytes(kindPerLease(r, 'lease hash')),
        bytes(kindPerLease(r, 'owner')),
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
  const admin = adminClient();
  const version = await redisVersion(admin);
  const listpack = await admin.config('GET', 'hash-max-listpack-*');
  admin.disconnect();
  const shared = (listpack as string[]).join(' ');
  const main = await measure({
    label: 'shared Redis',
    leases,
    workloads,
    handle: 'small',
    redisUrl: REDIS_URL,
    settings: shared,
    layout: 'store',
  });
  const whatIf: MemoryResult[] = [];
  if (flag('what-if')) {
    const small = option('what-if-leases', 10_000);
    const perWorkload = leases / workloads;
    const listpack512 = { 'hash-max-listpack-value': '512' };
    const variants: {
      settings: Record<string, string>;
      handle: 'small' | 'jwt';
      layout: 'store' | 'compact';
      workloads: number;
    }[] = [
      { settings: {}, handle: 'small', layout: 'store', workloads: small / perWorkload },
      { settings: listpack512, handle: 'small', layout: 'store', workloads: small / perWorkload },
      { settings: {}, handle: 'jwt', layout: 'store', workloads: small / perWorkload },
      { settings: listpack512, handle: 'jwt', layout: 'store', workloads: small / perWorkload },
      // The kill switch's shape: one workload holding every lease (its due zset is a skiplist).
      { settings: {}, handle: 'small', layout: 'store', workloads: 1 },
      { settings: listpack512, handle: 'small', layout: 'compact', workloads: small / perWorkload },
      { settings: listpack512, handle: 'jwt', layout: 'compact', workloads: small / perWorkload },
    ];
    for (const variant of variants) {
      const server = await startPrivateRedis(variant.settings);
      try {
        const label = Object.entries(variant.settings)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ');
        const workloadCount = Math.max(1, Math.round(variant.workloads));
        whatIf.push(
          await measure({
            label: `what-if ${label || 'defaults'} / ${variant.handle} / ${variant.layout}`,
            leases: small,
            workloads: workloadCount,
            handle: variant.handle,
            redisUrl: server.url,
            settings: label || 'defaults',
            layout: variant.layout,
          }),
        );
      } finally {
        await server.stop();
      }
    }
  }
  report(main, whatIf, version);
}

await main();
