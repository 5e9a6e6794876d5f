/**
 * Kill switch over databases (issue 16): 1,000 PostgreSQL and 1,000 MariaDB leases of one
 * workload, revoked by one `Broker.revokeWorkload` call, while other clients keep querying.
 *
 *   npx tsx bench/db-kill-switch.ts [--leases 1000] [--pg-sessions 50] [--mysql-sessions 100]
 *     [--only postgres|mysql] [--per-lease] [--json <file>]
 *
 * Per provider: a broker built by `startBroker` with a postgres or mysql target on the
 * machine's server (an admin account with the documented grants, names unique to the run);
 * `--leases` leases issued through the store and the provider's real `mint`; a sample of the
 * minted logins holding open sessions; a steady query load from other clients (their own
 * process). Then the kill switch, timed to its answer, to the moment no role/account under
 * the target's prefix and no session of one is left at the server, and to the store holding
 * no live lease. The other clients' latency is reported for a baseline window before the
 * kill switch and for the revocation window. `--per-lease` hides the providers' batch
 * revocation, so every lease is revoked on its own (the path before it existed).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { Provider, ProviderKind } from '../providers/provider.js';
import { providerFactories } from '../providers/registry.js';
import type { WorkloadRevocationResult } from '../src/broker/index.js';
import { newRequestId } from '../src/lib/ids.js';
import { benchRawConfig, parseConfig } from './lib/config.js';
import {
  type MysqlFixture,
  mysqlFixture,
  mysqlLeft,
  type PgFixture,
  pgFixture,
  pgLeft,
} from './lib/db-fixtures.js';
import { issueDbLeases } from './lib/db-leases.js';
import type { LoadReport, LoadSpec } from './lib/db-load.js';
import { liveLeases, statesOf } from './lib/leases.js';
import { ONCALL_OPERATOR } from './lib/operator.js';
import { type ProcessUsage, processWindow } from './lib/probes.js';
import { adminClient, deletePrefix, redisVersion, runPrefix } from './lib/redis.js';
import {
  count,
  heading,
  machine,
  ms,
  option,
  percentile,
  progress,
  sleep,
  table,
} from './lib/report.js';
import { assembleBroker } from './lib/wiring.js';

const TARGET = 'db-app';
const BASELINE_MS = 3_000;
const LOAD_CONNECTIONS = 8;
const LOAD_INTERVAL_MS = 10;
const CONNECT_EVERY_MS = 50;
const POLL_MS = 20;

type Kind = Extract<ProviderKind, 'postgres' | 'mysql'>;

interface Latency {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

interface RunResult {
  kind: Kind;
  server: string;
  leases: number;
  sessions: number;
  perLease: boolean;
  issueMs: number;
  answerMs: number;
  accountsGoneMs: number;
  sessionsGoneMs: number;
  finishedMs: number;
  answer: WorkloadRevocationResult;
  states: Record<string, number>;
  sessionsEndedClientSide: number;
  baseline: { query: Latency; connect: Latency };
  during: { query: Latency; connect: Latency };
  loadErrors: number;
  loadFirstError: string;
  usage: ProcessUsage;
  warnings: string[];
  load: number;
}

interface Inspector {
  left(): Promise<{ accounts: number; sessions: number }>;
  close(): Promise<void>;
}

interface OpenSession {
  /** Resolves false once the server has ended the session. */
  alive(): Promise<boolean>;
  close(): Promise<void>;
}

async function inspector(kind: Kind, fixture: PgFixture | MysqlFixture): Promise<Inspector> {
  if (kind === 'postgres') {
    const f = fixture as PgFixture;
    const client = new pg.Client(f.superUrl);
    await client.connect();
    return { left: () => pgLeft(client, f.rolePrefix), close: () => client.end() };
  }
  const f = fixture as MysqlFixture;
  const connection = await mysql.createConnection({ uri: f.rootUrl });
  return { left: () => mysqlLeft(connection, f.userPrefix), close: () => connection.end() };
}

async function openSession(kind: Kind, credential: Record<string, unknown>): Promise<OpenSession> {
  const user = String(credential.username);
  const password = String(credential.password);
  const host = String(credential.host);
  const port = Number(credential.port);
  const database = String(credential.database);
  if (kind === 'postgres') {
    const client = new pg.Client({ host, port, user, password, database });
    client.on('error', () => {});
    await client.connect();
    await client.query('SELECT 1');
    return {
      alive: () =>
        client.query('SELECT 1').then(
          () => true,
          () => false,
        ),
      close: () => client.end().catch(() => {}),
    };
  }
  const connection = await mysql.createConnection({ host, port, user, password, database });
  connection.on('error', () => {});
  await connection.query('SELECT 1');
  return {
    alive: () =>
      connection.query('SELECT 1').then(
        () => true,
        () => false,
      ),
    close: () => connection.end().catch(() => {}),
  };
}

class LoadProcess {
  readonly #child: ChildProcess;
  readonly #reports: LoadReport[] = [];
  #waiters: (() => void)[] = [];

  constructor() {
    // The child inherits tsx's loader through execArgv, so it runs TypeScript as we do.
    this.#child = fork(new URL('./lib/db-load.ts', import.meta.url), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (report: LoadReport) => {
      this.#reports.push(report);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.#child.on('exit', (code) => {
      this.#reports.push({ type: 'failed', error: `exited (${code}) without its report` });
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  async #next<T extends LoadReport['type']>(type: T): Promise<Extract<LoadReport, { type: T }>> {
    for (;;) {
      const found = this.#reports.find((r) => r.type === type);
      if (found) return found as Extract<LoadReport, { type: T }>;
      const failed = this.#reports.find((r) => r.type === 'failed');
      if (failed?.type === 'failed') throw new Error(`load process: ${failed.error}`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  async start(spec: LoadSpec): Promise<void> {
    this.#child.send({ type: 'start', spec });
    await this.#next('ready');
  }

  async stop(): Promise<Extract<LoadReport, { type: 'samples' }>> {
    this.#child.send({ type: 'stop' });
    return this.#next('samples');
  }

  kill(): void {
    if (this.#child.exitCode === null) this.#child.kill();
  }
}

/** Latency of the samples whose scheduled start falls in [from, to) (epoch ms). */
function latency(pairs: readonly number[], from: number, to: number): Latency {
  const values: number[] = [];
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const at = pairs[i] as number;
    if (at >= from && at < to) values.push(pairs[i + 1] as number);
  }
  values.sort((a, b) => a - b);
  return {
    n: values.length,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max: values[values.length - 1] ?? Number.NaN,
  };
}

/** Hides `revokeMany`, so the revoker takes every lease through `revoke` on its own. */
function perLeaseOnly(provider: Provider): Provider {
  return new Proxy(provider, {
    get(target, property) {
      if (property === 'revokeMany') return undefined;
      return Reflect.get(target, property, target);
    },
  });
}

const epochNow = () => performance.timeOrigin + performance.now();

async function run(
  kind: Kind,
  leases: number,
  sessionCount: number,
  perLease: boolean,
): Promise<RunResult> {
  const prefix = runPrefix('dk');
  const admin = adminClient();
  progress(`${kind}: setting up the database fixture`);
  const fixture = kind === 'postgres' ? await pgFixture(TARGET) : await mysqlFixture(TARGET);
  const loadProcess = new LoadProcess();
  const sessions: OpenSession[] = [];
  let bench: Awaited<ReturnType<typeof assembleBroker>> | undefined;
  let look: Inspector | undefined;
  let own: Provider | undefined;
  try {
    const raw = await benchRawConfig({ prefix });
    (raw.targets as Record<string, unknown>[]).push(fixture.target);
    const config = parseConfig(raw);
    const workload = `agent-db-${kind}`;
    // `--per-lease`: the target built from its config as the runtime would, `revokeMany` hidden.
    own = perLease
      ? providerFactories[kind].create(fixture.target, {
          brokerUrl: 'https://broker.bench.example',
        })
      : undefined;
    bench = await assembleBroker({
      config,
      events: 'signed',
      ...(own === undefined ? {} : { providers: new Map([[TARGET, perLeaseOnly(own)]]) }),
    });
    const minting = own ?? bench.configured.get(TARGET);
    if (!minting) throw new Error('the bench config has no database target');

    progress(`${kind}: issuing ${count(leases)} leases of ${workload} (prefix ${prefix})`);
    const issued = await issueDbLeases({
      store: bench.rawStore,
      sealer: bench.sealer,
      provider: minting,
      spec: {
        workload,
        target: TARGET,
        kind,
        scope:
          kind === 'postgres'
            ? { roles: Object.keys((fixture.target as { roles: object }).roles) }
            : { privilege_sets: ['reader'] },
        ttlMs: 3_600_000,
      },
      count: leases,
      concurrency: 8,
    });
    progress(`${kind}: issued in ${ms(issued.ms)}; opening ${sessionCount} sessions`);
    for (const lease of issued.leases.slice(0, sessionCount)) {
      sessions.push(await openSession(kind, lease.credential));
    }
    // As in production: the reaper retries what a revocation could not finish.
    bench.reaper.start();
    look = await inspector(kind, fixture);
    const before = await look.left();
    if (before.accounts !== leases || before.sessions !== sessionCount) {
      throw new Error(
        `expected ${leases} accounts and ${sessionCount} sessions, found ${before.accounts} and ${before.sessions}`,
      );
    }

    await loadProcess.start({
      kind,
      url: fixture.appUrl,
      table: fixture.table,
      connections: LOAD_CONNECTIONS,
      intervalMs: LOAD_INTERVAL_MS,
      connectEveryMs: CONNECT_EVERY_MS,
    });
    const baselineFrom = epochNow() + 500;
    await sleep(500 + BASELINE_MS);
    const baselineTo = epochNow();

    progress(`${kind}: kill switch`);
    const closeProcess = processWindow();
    const killAt = epochNow();
    const start = performance.now();
    let answerMs = Number.NaN;
    let accountsGoneMs = Number.NaN;
    let sessionsGoneMs = Number.NaN;
    let finishedMs = Number.NaN;
    const answered = bench.broker
      .revokeWorkload(
        workload,
        { reason: 'benchmark: database credentials leaked', block: true },
        ONCALL_OPERATOR,
        { requestId: newRequestId() },
      )
      .then((answer) => {
        answerMs = performance.now() - start;
        return answer;
      });
    const inspecting = look;
    const atServer = (async () => {
      for (;;) {
        const left = await inspecting.left();
        const at = performance.now() - start;
        if (left.sessions === 0 && Number.isNaN(sessionsGoneMs)) sessionsGoneMs = at;
        if (left.accounts === 0 && Number.isNaN(accountsGoneMs)) accountsGoneMs = at;
        if (left.accounts === 0 && left.sessions === 0) return;
        if (at > 120_000) throw new Error(`still left after 120 s: ${JSON.stringify(left)}`);
        await sleep(POLL_MS);
      }
    })();
    const running = bench;
    const inStore = (async () => {
      while ((await liveLeases(running.rawStore, workload)) > 0) await sleep(POLL_MS);
      finishedMs = performance.now() - start;
    })();
    const [answer] = await Promise.all([
      answered.then((a) => {
        progress(`${kind}: answered in ${ms(answerMs)}`);
        return a;
      }),
      atServer.then(() => progress(`${kind}: nothing left at the server`)),
      inStore.then(() => progress(`${kind}: no live lease left`)),
    ]);
    const doneAt = killAt + Math.max(answerMs, accountsGoneMs, sessionsGoneMs, finishedMs);
    const usage = closeProcess();
    await sleep(200);
    const samples = await loadProcess.stop();
    progress(`${kind}: load stopped; checking the sessions client-side`);

    let ended = 0;
    for (const session of sessions) if (!(await session.alive())) ended += 1;
    const { states } = await statesOf(
      bench.rawStore,
      issued.leases.map((l) => l.id),
    );
    return {
      kind,
      server: fixture.version,
      leases,
      sessions: sessionCount,
      perLease,
      issueMs: issued.ms,
      answerMs,
      accountsGoneMs,
      sessionsGoneMs,
      finishedMs,
      answer,
      states: Object.fromEntries(states),
      sessionsEndedClientSide: ended,
      baseline: {
        query: latency(samples.query, baselineFrom, baselineTo),
        connect: latency(samples.connect, baselineFrom, baselineTo),
      },
      during: {
        query: latency(samples.query, killAt, doneAt),
        connect: latency(samples.connect, killAt, doneAt),
      },
      loadErrors: samples.errors,
      loadFirstError: samples.firstError,
      usage,
      warnings: bench.logs.first,
      load: loadavg()[0] ?? 0,
    };
  } finally {
    loadProcess.kill();
    await Promise.allSettled(sessions.map((s) => s.close()));
    await look?.close().catch(() => {});
    await bench?.close().catch(() => {});
    await own?.close?.().catch(() => {});
    await fixture.drop().catch((err: unknown) => progress(`${kind}: clean-up failed: ${err}`));
    const deleted = await deletePrefix(admin, prefix);
    progress(`${kind}: dropped the fixture; deleted ${count(deleted)} keys under ${prefix}:`);
    admin.disconnect();
  }
}

function lat(l: Latency): string {
  return l.n === 0 ? '–' : `${ms(l.p50)} / ${ms(l.p99)} / ${ms(l.max)} (${count(l.n)})`;
}

function report(results: readonly RunResult[], version: string): void {
  heading(`Kill switch over databases — ${machine(version)}`);
  console.log(
    table(
      [
        'run',
        'server',
        'leases (sessions)',
        'issued in',
        'answer',
        'roles/accounts gone',
        'sessions gone',
        'all finished (store)',
        'answer counts',
        'final states',
        'sessions ended (client)',
        'Node CPU',
        'load avg',
      ],
      results.map((r) => [
        `${r.kind}${r.perLease ? ', per lease' : ''}`,
        r.server,
        `${count(r.leases)} (${r.sessions})`,
        ms(r.issueMs),
        ms(r.answerMs),
        ms(r.accountsGoneMs),
        ms(r.sessionsGoneMs),
        ms(r.finishedMs),
        `${r.answer.revoked}/${r.answer.revoking}/${r.answer.failed}`,
        Object.entries(r.states)
          .map(([s, n]) => `${s} ${n}`)
          .join(', '),
        `${r.sessionsEndedClientSide}/${r.sessions}`,
        ms(r.usage.cpuMs),
        r.load.toFixed(1),
      ]),
    ),
  );
  heading('Other clients: latency p50 / p99 / max (samples)');
  console.log(
    table(
      [
        'run',
        `queries, baseline ${BASELINE_MS / 1000} s`,
        'queries, during revocation',
        'new session + query, baseline',
        'new session + query, during',
        'errors',
      ],
      results.map((r) => [
        `${r.kind}${r.perLease ? ', per lease' : ''}`,
        lat(r.baseline.query),
        lat(r.during.query),
        lat(r.baseline.connect),
        lat(r.during.connect),
        r.loadErrors === 0 ? '0' : `${r.loadErrors} (${r.loadFirstError.slice(0, 80)})`,
      ]),
    ),
  );
  console.log(
    `\n${LOAD_CONNECTIONS} sessions of an ordinary application login each read one row every ` +
      `${LOAD_INTERVAL_MS} ms (latency from the scheduled start), and one more opens a fresh ` +
      `session, reads and closes every ${CONNECT_EVERY_MS} ms; their own process. The ` +
      'revocation window runs from the call to the last of: answer, no role/account left, no ' +
      'session left, no live lease in the store.',
  );
  for (const r of results) {
    if (r.warnings.length > 0) console.log(`\n${r.kind} logged: ${r.warnings.join('\n')}`);
  }
}

async function main(): Promise<void> {
  const leases = option('leases', 1000);
  const pgSessions = option('pg-sessions', 50);
  const mysqlSessions = option('mysql-sessions', 100);
  const onlyIndex = process.argv.indexOf('--only');
  const only = onlyIndex === -1 ? undefined : process.argv[onlyIndex + 1];
  const perLease = process.argv.includes('--per-lease');
  const jsonIndex = process.argv.indexOf('--json');
  const json = jsonIndex === -1 ? undefined : process.argv[jsonIndex + 1];
  const admin = adminClient();
  const version = await redisVersion(admin);
  admin.disconnect();
  const results: RunResult[] = [];
  if (only === undefined || only === 'postgres') {
    results.push(await run('postgres', leases, pgSessions, perLease));
  }
  if (only === undefined || only === 'mysql') {
    results.push(await run('mysql', leases, mysqlSessions, perLease));
  }
  report(results, version);
  if (json !== undefined) await writeFile(json, `${JSON.stringify(results, null, 2)}\n`);
}

await main();
