import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { BrokerConfig } from '../config/schema.js';

/**
 * Commands fail at once while Redis is unreachable (no offline queue), so issuance fails
 * closed with 503 instead of hanging; the client keeps reconnecting in the background.
 */
const COMMON: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 5_000,
  retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
  enableAutoPipelining: true,
};

export function createRedisClient(config: BrokerConfig['redis']): Redis | Cluster {
  switch (config.mode) {
    case 'cluster': {
      const nodes = config.nodes ?? [urlNode(config.url)];
      const tls = config.url.startsWith('rediss://') ? { tls: {} } : {};
      return new Cluster(nodes, {
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        clusterRetryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
        redisOptions: { ...COMMON, ...tls, ...auth(config.url) },
      });
    }
    case 'sentinel': {
      if (!config.sentinel) throw new TypeError('redis.sentinel is required in sentinel mode');
      const tls = config.url.startsWith('rediss://');
      return new Redis({
        ...COMMON,
        sentinels: config.sentinel.sentinels,
        name: config.sentinel.name,
        ...sentinelAuth(config.sentinel),
        // Follow a failover as soon as Sentinel announces it, not only when the connection
        // to the old primary drops: an old primary kept alive would otherwise take writes
        // (leases!) until Sentinel demotes it, and lose them then.
        failoverDetector: true,
        ...(tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
        ...auth(config.url),
      });
    }
    default:
      return new Redis(config.url, COMMON);
  }
}

function urlNode(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 6379) };
}

function sentinelAuth(sentinel: NonNullable<BrokerConfig['redis']['sentinel']>): {
  sentinelUsername?: string;
  sentinelPassword?: string;
} {
  return {
    ...(sentinel.username === undefined ? {} : { sentinelUsername: sentinel.username }),
    ...(sentinel.password === undefined ? {} : { sentinelPassword: sentinel.password }),
  };
}

function auth(url: string): { username?: string; password?: string } {
  const u = new URL(url);
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}

const REFUSED = /WRONGPASS|NOAUTH|NOPERM|invalid (username-)?password/i;

/** Waits until the client is ready, or fails after `timeoutMs` naming the last error seen. */
export async function waitReady(client: Redis | Cluster, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    let lastError = '';
    const timer = setTimeout(() => {
      cleanup();
      const cause = lastError === '' ? '' : ` (last error: ${lastError})`;
      reject(new Error(`Redis not reachable within ${timeoutMs} ms${cause}`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onError = (err: Error) => {
      lastError = err.message;
      // A refused password does not get better by waiting.
      if (REFUSED.test(err.message)) {
        cleanup();
        reject(new Error(`Redis refused the credentials: ${err.message}`));
      }
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
    };
    client.on('ready', onReady);
    client.on('error', onError);
  });
}

/**
 * The servers holding the lease store that keep no append-only file (leases survive a Redis
 * restart only with one). On a Cluster every master must (a keyless INFO would ask one node
 * at random, and each master holds the leases of its own slots); under Sentinel the primary
 * and every reachable replica, since a failover may promote any of them.
 */
export async function serversWithoutAof(
  client: Redis | Cluster,
  config: BrokerConfig['redis'],
): Promise<string[]> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  if (nodes.length === 0) return ['(no master)'];
  const missing: string[] = [];
  await Promise.all(
    nodes.map(async (node) => {
      if (!AOF_ON.test(await node.info('persistence'))) {
        missing.push(`${node.options.host ?? '?'}:${node.options.port ?? '?'}`);
      }
    }),
  );
  if (config.mode === 'sentinel' && config.sentinel) {
    const [, ...replicas] = await sentinelServers(config);
    for (const replica of replicas) {
      const info = await infoOf(replica, config.url, 'persistence');
      // A replica that cannot be reached now is not one Sentinel would promote.
      if (info !== undefined && !AOF_ON.test(info)) missing.push(`${replica.host}:${replica.port}`);
    }
  }
  return missing;
}

const AOF_ON = /aof_enabled:1/;

/**
 * A connection for one question to one server: no retries, no queue, closed by the caller.
 * `url` gives the scheme (TLS); credentials are the lease store's unless others are given.
 */
function oneShotClient(
  at: Endpoint,
  url: string,
  credentials: { username?: string; password?: string } = auth(url),
): Redis {
  const client = new Redis({
    host: at.host,
    port: at.port,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    retryStrategy: () => null,
    ...credentials,
    ...(url.startsWith('rediss://') ? { tls: {} } : {}),
  });
  client.on('error', () => {});
  return client;
}

/** `INFO <section>` of one server, with the lease store's credentials; undefined if unreachable. */
async function infoOf(at: Endpoint, url: string, section: string): Promise<string | undefined> {
  const client = oneShotClient(at, url);
  try {
    await client.connect();
    return await client.info(section);
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

/**
 * Redis keeps a hash compact (listpack) only while every value is at most
 * `hash-max-listpack-value` bytes; a lease's sealed handle and task exceed the default 64,
 * which more than doubles the memory per lease. Undefined when CONFIG is not allowed.
 */
export async function listpackValueLimit(client: Redis | Cluster): Promise<number | undefined> {
  const node = client instanceof Cluster ? client.nodes('master')[0] : client;
  try {
    const reply = (await node?.config('GET', 'hash-max-listpack-value')) as string[] | undefined;
    const value = Number(reply?.[1]);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export const RECOMMENDED_LISTPACK_VALUE = 512;

export interface Endpoint {
  host: string;
  port: number;
}

/**
 * Every server that holds (or may come to hold) the lease store, as far as can be seen now:
 * the configured URL and nodes; on a Cluster every node the client found; under Sentinel the
 * sentinels, the current primary and its replicas (any of which a failover may promote). A
 * provider must never hand out accounts on any of them. Under Sentinel this fails when no
 * sentinel can say, rather than answer with a list that may miss the primary.
 */
export async function storeEndpoints(
  client: Redis | Cluster,
  config: BrokerConfig['redis'],
): Promise<Endpoint[]> {
  const found: Endpoint[] = [...(config.nodes ?? [])];
  // In sentinel mode the URL's host is never used (it only carries credentials and scheme).
  if (config.mode !== 'sentinel') found.push(urlNode(config.url));
  if (client instanceof Cluster) {
    for (const node of client.nodes('all')) {
      const { host, port } = node.options;
      if (host !== undefined && port !== undefined) found.push({ host, port });
    }
  }
  if (config.mode === 'sentinel' && config.sentinel) {
    found.push(...config.sentinel.sentinels, ...(await sentinelServers(config)));
  }
  return found;
}

/** The primary (first) and replicas of the monitored name, from the first sentinel that says. */
async function sentinelServers(config: BrokerConfig['redis']): Promise<Endpoint[]> {
  const sentinel = config.sentinel;
  if (!sentinel) return [];
  const errors: string[] = [];
  for (const at of sentinel.sentinels) {
    try {
      return await sentinelView(at, sentinel, config.url);
    } catch (err) {
      errors.push(`${at.host}:${at.port}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new Error(
    `no sentinel could list the servers of "${sentinel.name}" (${errors.join('; ')})`,
  );
}

/** The primary and replicas one sentinel knows for the configured name. */
async function sentinelView(
  at: Endpoint,
  sentinel: NonNullable<BrokerConfig['redis']['sentinel']>,
  url: string,
): Promise<Endpoint[]> {
  const client = oneShotClient(at, url, {
    ...(sentinel.username === undefined ? {} : { username: sentinel.username }),
    ...(sentinel.password === undefined ? {} : { password: sentinel.password }),
  });
  try {
    await client.connect();
    const primary = (await client.call('SENTINEL', 'get-master-addr-by-name', sentinel.name)) as
      | [string, string]
      | null;
    if (primary === null) throw new Error(`it does not monitor "${sentinel.name}"`);
    const replicas = (await client.call('SENTINEL', 'replicas', sentinel.name)) as string[][];
    const out: Endpoint[] = [{ host: primary[0], port: Number(primary[1]) }];
    for (const fields of replicas) {
      const info = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2)
        info.set(fields[i] as string, fields[i + 1] as string);
      const host = info.get('ip');
      const port = Number(info.get('port'));
      if (host !== undefined && Number.isInteger(port)) out.push({ host, port });
    }
    return out;
  } finally {
    client.disconnect();
  }
}
