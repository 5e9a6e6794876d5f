/**
 * Issuance against its floor and a peer (issue 16). Every server runs in its own process
 * (its CPU time read around each point): the broker as `serve` runs it, the floor (the same
 * unavoidable work on the same stack), and oidc-provider issuing JWT access tokens through
 * client_credentials. autocannon loads them in turn, broker, floor, broker, so the machine's
 * noise falls on both; reused and fresh workload tokens, 16 and 64 connections, and a fixed
 * 1,000 req/s for latency. Then PostgreSQL issuance against its own floor.
 *
 *   npx tsx bench/issue.ts [--duration 10] [--connections 16,64] [--rate 1000] [--json FILE]
 *                          [--cpu-prof] [--cpu-prof-dir DIR] [--skip-peer] [--skip-pg]
 *                          [--only pg]
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { issueBody, issueRawConfig } from './lib/issue-config.js';
import {
  startWorkloadIdentity,
  TokenPool,
  WORKLOAD_AUDIENCE,
  WORKLOAD_ISSUER,
} from './lib/issue-identity.js';
import {
  type LoadRequest,
  measure,
  type PointResult,
  type RedisCounters,
  ServerProcess,
} from './lib/issue-load.js';
import {
  PEER_BASIC_CLIENT,
  PEER_BASIC_SECRET,
  PEER_JWT_CLIENT,
  PEER_RESOURCE,
  PEER_SCOPE,
} from './lib/issue-peer.js';
import { PG_CONCURRENCY, type PgRun, preparePgRun } from './lib/issue-pg.js';
import { reportBrokerProfile } from './lib/issue-profile.js';
import { type IssueRun, printReport, type ServerKind, type Variant } from './lib/issue-report.js';
import type { ServerSpec } from './lib/issue-server.js';
import { startPrivateRedis } from './lib/private-redis.js';
import { commandStats, infoField, redisCpuSeconds, runPrefix } from './lib/redis.js';
import { machine, progress } from './lib/report.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16,64' },
    rate: { type: 'string', default: '1000' },
    json: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'cpu-prof-dir': { type: 'string' },
    'skip-peer': { type: 'boolean', default: false },
    'skip-pg': { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const DURATION = Number(values.duration);
const CONNECTIONS = values.connections.split(',').map(Number);
const RATE = Number(values.rate);
if (!(DURATION > 0) || CONNECTIONS.some((c) => !(c > 0)) || !(RATE > 0)) {
  throw new TypeError('--duration, --connections and --rate take positive numbers');
}
if (values.only !== undefined && values.only !== 'pg') {
  throw new TypeError('--only takes pg (PostgreSQL issuance alone)');
}
if (values.only === 'pg' && values['skip-pg']) {
  throw new TypeError('--only pg and --skip-pg leave nothing to measure');
}
/**
 * A fresh-token point gets tokens for at least this rate, or 1.5× the fastest any server has
 * gone: a noisy machine makes earlier rates a poor guess, and a pool that runs out hands
 * tokens out twice (counted and reported). Unused tokens carry over to the next point.
 */
const LEAST_POOL_RATE = 6_000;

async function main(): Promise<void> {
  const started = new Date();
  // The lease store's settings from deploy/ (listpack hashes), on a server of our own, so the
  // machine's shared Redis and its other clients stay out of the measurement.
  const redis = await startPrivateRedis({ 'hash-max-listpack-value': '512' });
  const admin = new Redis(redis.url);
  const redisVersion = infoField(await admin.info('server'), 'redis_version') ?? '?';
  const redisCounters = async (): Promise<RedisCounters> => {
    const stats = await commandStats(admin);
    let commands = 0;
    let scripts = 0;
    for (const [name, stat] of stats) {
      if (name === 'info') continue;
      commands += stat.calls;
      if (name === 'evalsha' || name === 'eval') scripts += stat.calls;
    }
    return { cpuMicros: (await redisCpuSeconds(admin)) * 1_000_000, commands, scripts };
  };
  const identity = await startWorkloadIdentity();
  const profileDir =
    values['cpu-prof'] || values['cpu-prof-dir'] !== undefined
      ? resolve(values['cpu-prof-dir'] ?? mkdtempSync(join(tmpdir(), 'jb-issue-prof-')))
      : undefined;
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  const brokerArgv = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];

  const servers: ServerProcess[] = [];
  const brokerPids = new Map<string, number>();
  const pgRuns: PgRun[] = [];
  const run: IssueRun = {
    date: started.toISOString(),
    machine: machine(redisVersion),
    durationSeconds: DURATION,
    loadAverage: { start: loadavg()[0] ?? 0 },
    points: [],
    pg: [],
  };
  try {
    const start = async (label: string, spec: ServerSpec) => {
      progress(`starting ${label}`);
      const argv = spec.kind === 'broker' ? brokerArgv : [];
      const server = await ServerProcess.start(label, spec, argv);
      servers.push(server);
      if (spec.kind === 'broker') brokerPids.set(label, server.pid);
      return server;
    };
    let task = 0;
    const reusedToken = await identity.mint();
    const workloadTokens = new TokenPool(() => identity.mint());
    const issuance = (variant: Variant, pgRun?: PgRun): LoadRequest => ({
      method: 'POST',
      path: '/v1/credentials',
      next: () => {
        task += 1;
        const token = variant === 'reused' ? reusedToken : workloadTokens.take();
        return {
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: issueBody(task, pgRun),
        };
      },
    });
    const warm = Math.min(2, DURATION);
    // Token issuance against the floor and the peer; `--only pg` leaves it out.
    const measureTokens = async () => {
      const broker = await start('broker', {
        kind: 'broker',
        raw: await issueRawConfig({
          prefix: runPrefix('ib'),
          redisUrl: redis.url,
          jwksUrl: identity.jwksUrl,
        }),
      });
      const floor = await start('floor', {
        kind: 'floor',
        floor: {
          redisUrl: redis.url,
          prefix: runPrefix('if'),
          workloadJwk: identity.publicJwk,
          issuer: WORKLOAD_ISSUER,
          audience: WORKLOAD_AUDIENCE,
        },
      });
      const clientKeys = await generateKeyPair('ES256');
      const peer = values['skip-peer']
        ? undefined
        : await start('peer', {
            kind: 'peer',
            peer: {
              signingJwk: await exportJWK(
                (await generateKeyPair('ES256', { extractable: true })).privateKey,
              ),
              clientJwk: { ...(await exportJWK(clientKeys.publicKey)), kid: 'c1', alg: 'ES256' },
            },
          });

      const assertions = new TokenPool(() =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'ES256', kid: 'c1' })
          .setIssuer(PEER_JWT_CLIENT)
          .setSubject(PEER_JWT_CLIENT)
          .setAudience(`${peer?.url ?? ''}/token`)
          .setJti(crypto.randomUUID())
          .setIssuedAt()
          .setExpirationTime('2h')
          .sign(clientKeys.privateKey),
      );
      const grant = `grant_type=client_credentials&scope=${encodeURIComponent(PEER_SCOPE)}&resource=${encodeURIComponent(PEER_RESOURCE)}`;
      const basic = `Basic ${Buffer.from(`${PEER_BASIC_CLIENT}:${PEER_BASIC_SECRET}`).toString('base64')}`;
      const peerRequest = (variant: Variant): LoadRequest => ({
        method: 'POST',
        path: '/token',
        next: () => {
          const form = 'application/x-www-form-urlencoded';
          if (variant === 'reused') {
            return { headers: { authorization: basic, 'content-type': form }, body: grant };
          }
          return {
            headers: { 'content-type': form },
            body: `${grant}&client_id=${PEER_JWT_CLIENT}&client_assertion_type=${encodeURIComponent('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')}&client_assertion=${assertions.take()}`,
          };
        },
      });

      // The fastest rate seen per server sizes the next token pool.
      const fastest = new Map<string, number>();
      const point = async (
        kind: ServerKind,
        server: ServerProcess,
        variant: Variant,
        connections: number,
        overallRate?: number,
      ): Promise<PointResult> => {
        const pool = kind === 'peer' ? assertions : workloadTokens;
        if (variant === 'fresh') {
          const guess = Math.max(LEAST_POOL_RATE, 1.5 * Math.max(0, ...fastest.values()));
          const needed = Math.ceil((overallRate ?? guess) * (DURATION + 1));
          pool.compact();
          const minted = Math.max(0, needed - pool.remaining);
          const began = performance.now();
          await pool.ensure(needed);
          const seconds = (performance.now() - began) / 1000;
          if (minted > 0) progress(`  minted ${minted} tokens in ${seconds.toFixed(1)} s`);
        }
        const request = kind === 'peer' ? peerRequest(variant) : issuance(variant);
        const result = await measure(
          server,
          request,
          {
            connections,
            durationSeconds: DURATION,
            ...(overallRate === undefined ? {} : { overallRate }),
          },
          kind === 'peer' ? undefined : redisCounters,
        );
        fastest.set(kind, Math.max(fastest.get(kind) ?? 0, result.reqPerSec));
        const reused = variant === 'fresh' ? pool.reused : 0;
        run.points.push({
          kind,
          variant,
          connections,
          overallRate: overallRate ?? null,
          tokensReused: reused,
          ...result,
        });
        progress(
          `  ${kind} ${variant} ${connections}c${overallRate === undefined ? '' : ` @${overallRate}/s`}: ${result.reqPerSec.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ${result.cpuPerRequest.toFixed(0)} µs CPU/req${result.failed + result.errors > 0 ? `, ${result.failed} non-2xx, ${result.errors} errors` : ''}${reused > 0 ? `, ${reused} tokens reused` : ''}`,
        );
        return result;
      };

      progress('warming up');
      const warming: [ServerKind, ServerProcess][] = [
        ['broker', broker],
        ['floor', floor],
      ];
      if (peer !== undefined) warming.push(['peer', peer]);
      for (const [kind, server] of warming) {
        const req = kind === 'peer' ? peerRequest('reused') : issuance('reused');
        const w = await measure(server, req, { connections: 16, durationSeconds: warm });
        if (w.ok === 0) {
          // One more request, to say why: the answer is a problem document, without secrets.
          const sample = req.next();
          const res = await fetch(`${server.url}${req.path}`, { method: req.method, ...sample });
          throw new Error(
            `${kind} answered no request with 2xx while warming up: ${res.status} ${await res.text()}`,
          );
        }
      }

      for (const variant of ['reused', 'fresh'] as const) {
        for (const connections of CONNECTIONS) {
          progress(`${variant} token, ${connections} connections`);
          await point('broker', broker, variant, connections);
          await point('floor', floor, variant, connections);
          await point('broker', broker, variant, connections);
          if (peer !== undefined) await point('peer', peer, variant, connections);
        }
      }
      const rateConnections = Math.max(...CONNECTIONS);
      for (const variant of ['reused', 'fresh'] as const) {
        progress(`${variant} token, ${RATE} req/s offered`);
        await point('broker', broker, variant, rateConnections, RATE);
        await point('floor', floor, variant, rateConnections, RATE);
        await point('broker', broker, variant, rateConnections, RATE);
      }
      await broker.stop();
      await floor.stop();
      await peer?.stop();
    };
    if (values.only !== 'pg') await measureTokens();

    const measurePostgres = async () => {
      const pgRun = await preparePgRun();
      pgRuns.push(pgRun);
      const pgBroker = await start('broker-pg', {
        kind: 'broker',
        raw: await issueRawConfig({
          prefix: runPrefix('ipb'),
          redisUrl: redis.url,
          jwksUrl: identity.jwksUrl,
          pg: pgRun,
        }),
      });
      const pgFloor = await start('floor-pg', {
        kind: 'pg-floor',
        floor: {
          redisUrl: redis.url,
          prefix: runPrefix('ipf'),
          workloadJwk: identity.publicJwk,
          issuer: WORKLOAD_ISSUER,
          audience: WORKLOAD_AUDIENCE,
        },
        pg: { adminUrl: pgRun.adminUrl, group: pgRun.group, rolePrefix: pgRun.floorPrefix },
      });
      const pgPoint = async (kind: 'broker' | 'floor', server: ServerProcess) => {
        const result = await measure(
          server,
          issuance('reused', pgRun),
          { connections: PG_CONCURRENCY, durationSeconds: DURATION },
          redisCounters,
        );
        run.pg.push({ kind, connections: PG_CONCURRENCY, ...result });
        progress(
          `  postgres ${kind}: ${result.reqPerSec.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ${result.cpuPerRequest.toFixed(0)} µs CPU/req${result.failed + result.errors > 0 ? `, ${result.failed} non-2xx, ${result.errors} errors` : ''}`,
        );
      };
      progress(`postgres issuance, ${PG_CONCURRENCY} connections (the provider's pool)`);
      await measure(pgBroker, issuance('reused', pgRun), {
        connections: PG_CONCURRENCY,
        durationSeconds: warm,
      });
      await measure(pgFloor, issuance('reused', pgRun), {
        connections: PG_CONCURRENCY,
        durationSeconds: warm,
      });
      await pgPoint('broker', pgBroker);
      await pgPoint('floor', pgFloor);
      await pgPoint('broker', pgBroker);
      await pgBroker.stop();
      await pgFloor.stop();
    };
    if (!values['skip-pg']) {
      // Without PostgreSQL the rest still stands: reported, with the reason this part is missing.
      await measurePostgres().catch((err: unknown) => {
        run.pgError = err instanceof Error ? err.message : String(err);
        progress(`PostgreSQL issuance not measured: ${run.pgError}`);
      });
    }

    run.loadAverage.end = loadavg()[0] ?? 0;
    printReport(run);
    const file =
      values.json ?? join(tmpdir(), `issue-${started.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(run, null, 2)}\n`);
    progress(`figures written to ${file}`);
    if (profileDir !== undefined) {
      for (const [label, pid] of brokerPids) {
        const files = reportBrokerProfile(label, profileDir, pid);
        progress(`${label} CPU profiles (Chrome DevTools): ${files.join(', ')}`);
      }
    }
  } finally {
    for (const server of servers) server.kill();
    for (const pgRun of pgRuns) {
      const dropped = await pgRun.drop().catch((err: unknown) => {
        progress(`could not drop the run's roles (${pgRun.run}*): ${String(err)}`);
        return 0;
      });
      progress(`dropped ${dropped} login roles`);
    }
    admin.disconnect();
    await identity.close();
    await redis.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
