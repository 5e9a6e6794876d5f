/**
 * AWS early revocation at scale: live STS sessions of one workload, minted through the real
 * STS client against the STS/IAM fake, then ended early by the broker.
 *
 *   npx tsx bench/aws-revoke.ts [--leases 1000] [--iam-latency 0] [--json <file>]
 *
 * Runs (each on a fresh role, broker and key prefix, one private `redis-server` for all):
 * - kill switch: `Broker.revokeWorkload` on every session of the workload; the Deny policy
 *   needs one workload entry, so one IAM write is expected;
 * - single: every lease revoked by its own `revokeLease` call, all at once (as that many
 *   `DELETE /v1/leases/{id}` would); the writer batches the waiting entries per IAM write;
 * - single, fits: as many single revocations as the 10,240-character inline-policy limit holds.
 *
 * The floor: one GetRolePolicy + PutRolePolicy against the fake, timed on its own, so what
 * the fake costs per IAM write is known. `--iam-latency` adds that many milliseconds to every
 * fake call (real IAM writes take ~100-300 ms). After each run a sample of sessions is
 * checked with the fake's policy evaluator: revoked ones must be denied, another workload's
 * session allowed.
 */
import { writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { GetRolePolicyCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import type { Provider } from '../providers/provider.js';
import type { LeaseStore } from '../src/leases/types.js';
import { newRequestId } from '../src/lib/ids.js';
import { type AwsFake, startAwsFake } from '../test/fakes/aws.js';
import { benchRawConfig, parseConfig } from './lib/config.js';
import { liveLeases, realisticLease, statesOf } from './lib/leases.js';
import { ONCALL_OPERATOR } from './lib/operator.js';
import { startPrivateRedis } from './lib/private-redis.js';
import { adminClient, redisVersion, runPrefix } from './lib/redis.js';
import { count, heading, machine, ms, option, progress, table } from './lib/report.js';
import { assembleBroker, type BenchBroker } from './lib/wiring.js';

const TARGET = 's3-reports';
const BUCKET = 'arn:aws:s3:::reports';
const SCOPE = { actions: ['s3:GetObject'], resources: [`${BUCKET}/*`] };
const TTL_MS = 30 * 60_000;
/** The target's `revocation_policy_name` default. */
const POLICY_NAME = 'jit-broker-revocations';

type Mode = 'kill switch' | 'single';

interface RunSpec {
  label: string;
  mode: Mode;
  leases: number;
}

interface RunResult {
  spec: RunSpec;
  seedMs: number;
  answerMs: number;
  /** When the fake first held a Deny of these sessions: AWS would start applying it then. */
  firstDenyMs: number;
  doneMs: number;
  iam: { GetRolePolicy: number; PutRolePolicy: number };
  writerWrites: number;
  states: Record<string, number>;
  policyChars: number;
  leaseEntries: number;
  workloadEntries: number;
  sampled: { revokedDenied: number; revokedSampled: number; bystanderAllowed: boolean };
  load: number;
}

interface Seeded {
  ids: string[];
  keyOf: Map<string, string>;
  ms: number;
}

/** Issuance's order without HTTP or policy: the lease (pending), a real AssumeRole, activation. */
async function seed(
  bench: BenchBroker,
  provider: Provider,
  workload: string,
  leases: number,
): Promise<Seeded> {
  const ids: string[] = [];
  const keyOf = new Map<string, string>();
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    for (let i = next++; i < leases; i = next++) {
      const spec = { workload, task: Math.floor(i / 4), target: TARGET, ttlMs: TTL_MS };
      const lease = await bench.rawStore.create({
        ...realisticLease(spec),
        provider: provider.kind,
        scope: SCOPE,
      });
      const minted = await provider.mint({
        leaseId: lease.id,
        workload,
        subject: lease.subject,
        task: lease.task,
        scope: provider.scope.parse(SCOPE),
        issuedAt: Date.now(),
        expiresAt: lease.expiresAt,
      });
      const activated = await bench.rawStore.activate(
        lease,
        bench.sealer.seal(lease.id, minted.handle),
      );
      if (activated.outcome !== 'active')
        throw new Error(`seeding: ${lease.id} ${activated.outcome}`);
      ids.push(lease.id);
      keyOf.set(lease.id, (minted.credential as { access_key_id: string }).access_key_id);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  return { ids, keyOf, ms: performance.now() - start };
}

async function untilSettled(store: LeaseStore, workload: string, mode: Mode): Promise<void> {
  // A single revocation the writer could not place stays `revoking` for the reaper (not
  // running here): the run is over when nothing is still in its first attempt.
  if (mode === 'kill switch') {
    while ((await liveLeases(store, workload)) > 0) await new Promise((r) => setTimeout(r, 5));
  }
}

async function run(fake: AwsFake, redisUrl: string, spec: RunSpec): Promise<RunResult> {
  const role = fake.createRole({ maxSessionDuration: 3_600 });
  const raw = await benchRawConfig({ prefix: runPrefix('aws'), redisUrl });
  (raw.targets as unknown[]).push({
    name: TARGET,
    provider: 'aws',
    role_arn: role.arn,
    region: fake.region,
    endpoint: { sts: fake.url, iam: fake.url },
  });
  const bench = await assembleBroker({ config: parseConfig(raw) });
  try {
    const provider = bench.configured.get(TARGET);
    if (provider === undefined) throw new Error('the bench config has no aws target');
    const workload = 'agent-leaky';
    progress(`${spec.label}: minting ${count(spec.leases)} sessions (AssumeRole each)`);
    const seeded = await seed(bench, provider, workload, spec.leases);
    const bystander = await seed(bench, provider, 'agent-bystander', 1);
    await bench.events.flush();
    const writerWrites = () =>
      (provider as { denyPolicy?: { writes: number } }).denyPolicy?.writes ?? 0;
    const before = fake.callCounts();
    const writesBefore = writerWrites();

    progress(`${spec.label}: revoking`);
    const start = performance.now();
    let firstDenyMs = Number.NaN;
    const watch = setInterval(() => {
      if (!Number.isNaN(firstDenyMs)) return;
      const written = fake.rolePolicy(role.name, POLICY_NAME) as
        | { Statement?: unknown[] }
        | undefined;
      if ((written?.Statement?.length ?? 0) > 0) firstDenyMs = performance.now() - start;
    }, 1);
    if (spec.mode === 'kill switch') {
      await bench.broker.revokeWorkload(
        workload,
        { reason: 'benchmark: session keys leaked', block: true },
        ONCALL_OPERATOR,
        { requestId: newRequestId() },
      );
    } else {
      await Promise.allSettled(
        seeded.ids.map((id) =>
          bench.broker.revokeLease(id, ONCALL_OPERATOR, { requestId: newRequestId() }),
        ),
      );
    }
    const answerMs = performance.now() - start;
    await untilSettled(bench.rawStore, workload, spec.mode);
    const doneMs = performance.now() - start;
    clearInterval(watch);
    const after = fake.callCounts();

    const { states } = await statesOf(bench.rawStore, seeded.ids);
    const policy = fake.rolePolicy(role.name, POLICY_NAME) as
      | { Statement: { Sid: string; Condition?: { StringLike?: { 'aws:userid'?: string[] } } }[] }
      | undefined;
    const statements = policy?.Statement ?? [];
    const revoked = seeded.ids.filter((_, i) => i % Math.ceil(seeded.ids.length / 25) === 0);
    let revokedDenied = 0;
    let revokedSampled = 0;
    for (const id of revoked) {
      const lease = await bench.rawStore.get(id);
      if (lease?.state !== 'revoked') continue;
      revokedSampled += 1;
      const decision = await fake.check({
        accessKeyId: seeded.keyOf.get(id) ?? '',
        action: 's3:GetObject',
        resource: `${BUCKET}/q3.csv`,
      });
      if (decision !== 'Allowed') revokedDenied += 1;
    }
    const bystanderAllowed =
      (await fake.check({
        accessKeyId: bystander.keyOf.get(bystander.ids[0] ?? '') ?? '',
        action: 's3:GetObject',
        resource: `${BUCKET}/q3.csv`,
      })) === 'Allowed';
    return {
      spec,
      seedMs: seeded.ms,
      answerMs,
      firstDenyMs,
      doneMs,
      iam: {
        GetRolePolicy: (after.GetRolePolicy ?? 0) - (before.GetRolePolicy ?? 0),
        PutRolePolicy: (after.PutRolePolicy ?? 0) - (before.PutRolePolicy ?? 0),
      },
      writerWrites: writerWrites() - writesBefore,
      states: Object.fromEntries(states),
      policyChars: JSON.stringify(policy ?? {}).replace(/\s+/g, '').length,
      leaseEntries: statements.reduce(
        (n, s) => n + (s.Condition?.StringLike?.['aws:userid']?.length ?? 0),
        0,
      ),
      workloadEntries: statements.filter((s) => s.Sid.startsWith('JitWorkload')).length,
      sampled: { revokedDenied, revokedSampled, bystanderAllowed },
      load: loadavg()[0] ?? 0,
    };
  } finally {
    await bench.close();
  }
}

/** What one IAM read-modify-write costs at the fake, with no broker in the way. */
async function floor(fake: AwsFake): Promise<{ getMs: number; putMs: number }> {
  const role = fake.createRole();
  const iam = new IAMClient({
    region: 'us-east-1',
    endpoint: fake.url,
    credentials: fake.brokerCredentials,
  });
  const document = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }],
  });
  const rounds = 50;
  let getMs = 0;
  let putMs = 0;
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    await iam.send(
      new PutRolePolicyCommand({ RoleName: role.name, PolicyName: 'p', PolicyDocument: document }),
    );
    putMs += performance.now() - t;
    t = performance.now();
    await iam.send(new GetRolePolicyCommand({ RoleName: role.name, PolicyName: 'p' }));
    getMs += performance.now() - t;
  }
  iam.destroy();
  return { getMs: getMs / rounds, putMs: putMs / rounds };
}

function report(
  results: readonly RunResult[],
  base: { getMs: number; putMs: number },
  latency: number,
  version: string,
): void {
  heading(`AWS early revocation — ${machine(version)}; fake latency ${latency} ms per call`);
  console.log(
    `Floor (fake, no broker): GetRolePolicy ${ms(base.getMs)}, PutRolePolicy ${ms(base.putMs)} per call (mean of 50).\n`,
  );
  console.log(
    table(
      [
        'run',
        'sessions',
        'mint (AssumeRole each)',
        'first Deny at the fake',
        'answer',
        'IAM GetRolePolicy / PutRolePolicy',
        'final states',
        'Deny policy: chars / lease entries / workload entries',
        'sample: revoked denied / bystander allowed',
        'load avg',
      ],
      results.map((r) => [
        r.spec.label,
        count(r.spec.leases),
        ms(r.seedMs),
        ms(r.firstDenyMs),
        ms(r.answerMs),
        `${r.iam.GetRolePolicy} / ${r.iam.PutRolePolicy}`,
        Object.entries(r.states)
          .map(([s, n]) => `${s} ${n}`)
          .join(', '),
        `${count(r.policyChars)} / ${r.leaseEntries} / ${r.workloadEntries}`,
        `${r.sampled.revokedDenied}/${r.sampled.revokedSampled} / ${r.sampled.bystanderAllowed ? 'yes' : 'NO'}`,
        r.load.toFixed(1),
      ]),
    ),
  );
}

async function main(): Promise<void> {
  const leases = option('leases', 1_000);
  const latency = option('iam-latency', 0);
  const jsonIndex = process.argv.indexOf('--json');
  const jsonPath = process.argv[jsonIndex + 1] ?? '';
  const out = jsonIndex === -1 || jsonPath === '' ? join(tmpdir(), 'aws-revoke.json') : jsonPath;

  const redis = await startPrivateRedis({});
  const fake = await startAwsFake();
  // The broker's own AWS credentials, from the SDK's default chain: the environment.
  process.env.AWS_ACCESS_KEY_ID = fake.brokerCredentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = fake.brokerCredentials.secretAccessKey;
  try {
    const admin = adminClient(redis.url);
    const version = await redisVersion(admin);
    admin.disconnect();
    const base = await floor(fake);
    fake.setLatency(latency);
    const results: RunResult[] = [];
    for (const spec of [
      { label: 'kill switch', mode: 'kill switch', leases },
      { label: 'single revocations', mode: 'single', leases },
      { label: 'single, within the policy limit', mode: 'single', leases: 150 },
    ] as const) {
      results.push(await run(fake, redis.url, spec));
    }
    report(results, base, latency, version);
    writeFileSync(
      out,
      `${JSON.stringify({ date: new Date().toISOString(), latencyMs: latency, floor: base, redis: version, results }, null, 2)}\n`,
    );
    progress(`figures written to ${out}`);
  } finally {
    await fake.close();
    await redis.stop();
  }
}

await main();
