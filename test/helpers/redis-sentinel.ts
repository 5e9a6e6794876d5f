import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { type RedisProc, startRedis } from './redis-procs.js';

const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';
const HOST = '127.0.0.1';

export interface HostPort {
  host: string;
  port: number;
}

/**
 * One primary, one replica and one sentinel (quorum 1), all private children on spare
 * loopback ports: a Sentinel deployment the test may fail over by killing the primary.
 */
export interface SentinelGroup {
  /** The master name the sentinel monitors (unique per run). */
  readonly name: string;
  /** The data node that was primary at start. */
  readonly primary: RedisProc;
  /** The data node that was its replica at start (what a failover promotes). */
  readonly replica: RedisProc;
  readonly sentinel: HostPort;
  /** A plain client of the sentinel (the caller disconnects it). */
  sentinelClient(): Redis;
  /** The primary as the sentinel names it now (`SENTINEL get-master-addr-by-name`). */
  masterAddr(): Promise<HostPort>;
  /** SIGKILLs the start-time primary and waits until its port refuses connections. */
  killPrimary(): Promise<void>;
  /** Stops the sentinel, then both data nodes, and removes their directories. */
  destroy(): Promise<void>;
}

/** Sentinel children still running: killed if the test process exits without tearing down. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function probe(port: number, options: { timeoutMs?: number } = {}): Redis {
  const client = new Redis(port, HOST, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: options.timeoutMs ?? 500,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  return client;
}

/** Polls `check` until it answers a value, or fails naming `what` and the last error. */
async function until<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await sleep(50);
  }
  const cause = last === undefined ? '' : `: ${String(last)}`;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  if (await waitExit(child, 3_000)) return;
  child.kill('SIGKILL');
  await waitExit(child, 3_000);
}

/** Whether something accepts TCP connections on the loopback port. */
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `INFO` as key → value. */
function infoFields(info: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of info.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1));
  }
  return fields;
}

/** A flat `[k1, v1, k2, v2…]` reply as an object. */
function pairs(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}

async function launchSentinel(
  dir: string,
  name: string,
  primaryPort: number,
): Promise<{ child: ChildProcess; port: number }> {
  let lastError: unknown;
  // Another process may take the port between the probe and the bind: try a few.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    const conf = join(dir, `sentinel-${port}.conf`);
    // Sentinel rewrites its config file (its id, the replicas it found, failovers).
    await writeFile(
      conf,
      [
        `port ${port}`,
        `bind ${HOST}`,
        'protected-mode no',
        'daemonize no',
        'logfile ""',
        `dir ${dir}`,
        `sentinel monitor ${name} ${HOST} ${primaryPort} 1`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 3000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    const child = spawn(REDIS_SERVER, [conf, '--sentinel'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    live.add(child);
    child.once('exit', () => live.delete(child));
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', () => resolve());
        child.once('error', reject);
      });
      await until(`the sentinel on port ${port} to answer PING`, 10_000, async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`sentinel exited (${child.exitCode ?? child.signalCode})`);
        }
        const client = probe(port);
        try {
          await client.connect();
          return (await client.ping()) === 'PONG' ? true : undefined;
        } finally {
          client.disconnect();
        }
      });
      return { child, port };
    } catch (err) {
      child.kill('SIGKILL');
      await waitExit(child, 3_000);
      lastError = new Error(`${(err as Error).message}\n${output}`);
    }
  }
  throw lastError;
}

/**
 * Starts a primary, a replica of it and a sentinel monitoring the primary (quorum 1, down
 * after 1 s, failover timeout 3 s). Resolves once the replica's link is up and the sentinel
 * both lists the replica and holds a live link to it, so a failover can promote it.
 */
export async function startSentinelGroup(): Promise<SentinelGroup> {
  const name = `jit${randomBytes(5).toString('hex')}`;
  const dir = await mkdtemp(join(tmpdir(), 'jit-sentinel-'));
  let primary: RedisProc | undefined;
  let replica: RedisProc | undefined;
  let sentinel: { child: ChildProcess; port: number } | undefined;
  const teardown = async () => {
    if (sentinel) await stopChild(sentinel.child);
    await Promise.all([replica?.destroy(), primary?.destroy()]);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // Diskless sync waits 5 s by default for more replicas to join: start it at once.
    const sync = ['--repl-diskless-sync-delay', '0'];
    primary = await startRedis({ extraArgs: sync });
    const primaryPort = primary.port;
    replica = await startRedis({
      extraArgs: [...sync, '--replicaof', HOST, String(primaryPort)],
    });
    const replicaPort = replica.port;

    const replicaClient = probe(replicaPort, { timeoutMs: 1_000 });
    try {
      await replicaClient.connect();
      await until('the replica to report master_link_status:up', 15_000, async () => {
        const info = infoFields(await replicaClient.info('replication'));
        return info.get('master_link_status') === 'up' ? true : undefined;
      });
    } finally {
      replicaClient.disconnect();
    }

    // Started after the replica is in sync: the sentinel's first INFO of the primary
    // already names the replica.
    sentinel = await launchSentinel(dir, name, primaryPort);
    const sentinelPort = sentinel.port;
    const client = probe(sentinelPort, { timeoutMs: 1_000 });
    try {
      await client.connect();
      await until(`sentinel to list the replica on port ${replicaPort}`, 15_000, async () => {
        const replicas = (await client.call('SENTINEL', 'replicas', name)) as string[][];
        const seen = replicas.map(pairs).find((r) => Number(r.port) === replicaPort);
        // Only "slave": known, linked, not subjectively down.
        return seen?.flags === 'slave' && seen['master-link-status'] === 'ok' ? true : undefined;
      });
    } finally {
      client.disconnect();
    }
  } catch (err) {
    await teardown();
    throw err;
  }

  const primaryProc = primary;
  const sentinelPort = sentinel.port;
  const sentinelClient = () => new Redis(sentinelPort, HOST, { maxRetriesPerRequest: 1 });
  // The start-time primary's pid, so it can be killed without a clean shutdown.
  const pid = await (async () => {
    const c = probe(primaryProc.port, { timeoutMs: 1_000 });
    try {
      await c.connect();
      return Number(infoFields(await c.info('server')).get('process_id'));
    } finally {
      c.disconnect();
    }
  })();
  if (!Number.isInteger(pid) || pid <= 0) {
    await teardown();
    throw new Error('the primary did not report its process_id');
  }

  return {
    name,
    primary: primaryProc,
    replica,
    sentinel: { host: HOST, port: sentinelPort },
    sentinelClient,
    async masterAddr() {
      const client = probe(sentinelPort, { timeoutMs: 1_000 });
      try {
        await client.connect();
        const reply = (await client.call('SENTINEL', 'get-master-addr-by-name', name)) as
          | [string, string]
          | null;
        if (reply === null) throw new Error(`sentinel does not know master ${name}`);
        return { host: reply[0], port: Number(reply[1]) };
      } finally {
        client.disconnect();
      }
    },
    async killPrimary() {
      try {
        process.kill(pid, 'SIGKILL');
      } catch (err) {
        // Already gone.
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
      await until(`the killed primary's port ${primaryProc.port} to close`, 5_000, async () =>
        (await accepting(primaryProc.port)) ? undefined : true,
      );
    },
    destroy: teardown,
  };
}
