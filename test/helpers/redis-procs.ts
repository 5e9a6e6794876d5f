import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { requireService } from './services.js';

const run = promisify(execFile);
const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';
const REDIS_CLI = process.env.REDIS_CLI_BIN ?? 'redis-cli';

/**
 * Private `redis-server` children on spare loopback ports, for tests that must stop Redis
 * mid-run or need a Redis Cluster: the machine's shared Redis can be neither.
 */
export interface RedisProc {
  readonly port: number;
  readonly url: string;
  /** The server's working directory (AOF lives here when `appendonly` is on). */
  readonly dir: string;
  readonly running: boolean;
  /** SIGTERM (a clean shutdown that flushes the AOF) and wait for the exit. */
  stop(): Promise<void>;
  /** Starts the server again on the same port and directory. */
  start(): Promise<void>;
  /** A plain client (test set-up and inspection only). */
  client(): Redis;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
}

export interface RedisProcOptions {
  /** Keep an append-only file, fsynced on every write, so data survives a restart. */
  appendonly?: boolean;
  extraArgs?: readonly string[];
}

/** Children still running: killed if the test process exits without tearing them down. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

async function pingUntilUp(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `redis-server on port ${port} exited (${child.exitCode ?? child.signalCode})`,
      );
    }
    const client = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      connectTimeout: 500,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      // LOADING answers are errors: the server is up only once the AOF is loaded.
      if ((await client.ping()) === 'PONG') return;
    } catch (err) {
      last = err;
    } finally {
      client.disconnect();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `redis-server on port ${port} did not answer within ${timeoutMs} ms: ${String(last)}`,
  );
}

function waitExit(child: ChildProcess, timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = Number.isFinite(timeoutMs) ? setTimeout(() => resolve(false), timeoutMs) : null;
    child.once('exit', () => {
      if (timer) clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * SIGTERM is a clean shutdown (the AOF is flushed), but Redis ignores it while it writes
 * the initial AOF after `CONFIG SET appendonly yes`; ask again, then SIGKILL.
 */
async function terminate(child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt += 1) {
    child.kill('SIGTERM');
    if (await waitExit(child, 1_000)) return;
  }
  child.kill('SIGKILL');
  await waitExit(child);
}

async function launch(port: number, dir: string, args: readonly string[]): Promise<ChildProcess> {
  const child = spawn(
    REDIS_SERVER,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--daemonize',
      'no',
      '--protected-mode',
      'no',
      '--logfile',
      '',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  live.add(child);
  child.once('exit', () => live.delete(child));
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  try {
    await spawned;
    await pingUntilUp(port, child, 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    await waitExit(child);
    throw new Error(`${(err as Error).message}\n${output}`);
  }
  return child;
}

function persistence(appendonly: boolean): string[] {
  return appendonly
    ? ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always']
    : ['--save', '', '--appendonly', 'no'];
}

/** Starts one standalone `redis-server` on a spare loopback port. */
export async function startRedis(options: RedisProcOptions = {}): Promise<RedisProc> {
  const dir = await mkdtemp(join(tmpdir(), 'jit-redis-'));
  const args = [...persistence(options.appendonly ?? false), ...(options.extraArgs ?? [])];
  let child: ChildProcess | undefined;
  let port = 0;
  // Another process may take the port between the probe and the bind: try a few.
  for (let attempt = 0; attempt < 3 && !child; attempt += 1) {
    port = await freePort();
    try {
      child = await launch(port, dir, args);
    } catch (err) {
      if (attempt === 2) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  let current = child;
  const proc: RedisProc = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get running() {
      return current !== undefined;
    },
    async stop() {
      const c = current;
      if (!c) return;
      current = undefined;
      await terminate(c);
    },
    async start() {
      if (current) return;
      current = await launch(port, dir, args);
    },
    client: () => new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 }),
    async destroy() {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return proc;
}

export interface RedisClusterProcs {
  readonly nodes: { host: string; port: number }[];
  /** `redis://127.0.0.1:<first node>` */
  readonly url: string;
  readonly masters: RedisProc[];
  /** The port of the master that serves `key`'s slot. */
  ownerOf(key: string): Promise<number>;
  destroy(): Promise<void>;
}

/**
 * Three masters, no replicas: `redis-server --cluster-enabled yes` each, joined with
 * `redis-cli --cluster create`, ready once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(): Promise<RedisClusterProcs> {
  const masters: RedisProc[] = [];
  try {
    for (let n = 0; n < 3; n += 1) {
      // The bus port defaults to port + 10000, which may be taken or out of range.
      const busPort = await freePort();
      masters.push(
        await startRedis({
          extraArgs: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${n}.conf`,
            '--cluster-port',
            String(busPort),
            '--cluster-node-timeout',
            '5000',
          ],
        }),
      );
    }
    await run(
      REDIS_CLI,
      [
        '--cluster',
        'create',
        ...masters.map((m) => `127.0.0.1:${m.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    await waitClusterOk(masters, 30_000);
  } catch (err) {
    await Promise.all(masters.map((m) => m.destroy()));
    throw err;
  }
  const nodes = masters.map((m) => ({ host: '127.0.0.1', port: m.port }));
  return {
    nodes,
    url: `redis://127.0.0.1:${masters[0]?.port}`,
    masters,
    async ownerOf(key: string): Promise<number> {
      const client = masters[0]?.client();
      if (!client) throw new Error('no cluster node');
      try {
        const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key));
        const ranges = (await client.call('CLUSTER', 'SLOTS')) as [
          number,
          number,
          [string, number],
        ][];
        const range = ranges.find(([from, to]) => slot >= from && slot <= to);
        if (!range) throw new Error(`slot ${slot} is not served`);
        return range[2][1];
      } finally {
        client.disconnect();
      }
    },
    async destroy() {
      await Promise.all(masters.map((m) => m.destroy()));
    },
  };
}

async function waitClusterOk(masters: readonly RedisProc[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const clients = masters.map((m) => m.client());
  try {
    while (Date.now() < deadline) {
      const infos = await Promise.all(
        clients.map((c) => c.call('CLUSTER', 'INFO') as Promise<string>),
      );
      if (infos.every((info) => info.includes('cluster_state:ok'))) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`Redis Cluster did not reach cluster_state:ok within ${timeoutMs} ms`);
  } finally {
    for (const c of clients) c.disconnect();
  }
}

/**
 * Runs `start`, or (outside CI) returns `null` with a loud notice when the processes cannot
 * be started. Under `CI=true` a failure fails the suite.
 */
export async function startOrSkip<T>(name: string, start: () => Promise<T>): Promise<T | null> {
  try {
    return await start();
  } catch (err) {
    console.warn(`${name} did not start: ${(err as Error).message}`);
    await requireService(name, false);
    return null;
  }
}
