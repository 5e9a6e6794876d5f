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
      return new Redis({
        ...COMMON,
        sentinels: config.sentinel.sentinels,
        name: config.sentinel.name,
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

function auth(url: string): { username?: string; password?: string } {
  const u = new URL(url);
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}

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
 * Whether Redis keeps an append-only file (leases survive a Redis restart only then). On a
 * Cluster every master must: a keyless INFO would ask one node at random, and each master
 * holds the leases of its own slots.
 */
export async function aofEnabled(client: Redis | Cluster): Promise<boolean> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  if (nodes.length === 0) return false;
  const infos = await Promise.all(nodes.map((node) => node.info('persistence')));
  return infos.every((info) => /aof_enabled:1/.test(info));
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
