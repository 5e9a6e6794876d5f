import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { HeldLock, ProviderContext, ProviderCoordination } from '../../providers/provider.js';
import type { BrokerConfig } from '../config/schema.js';
import type { Endpoint } from '../leases/redis-client.js';

/** The broker's public URL: `iss` of what it signs. */
export function brokerUrl(config: BrokerConfig): string {
  const scheme = config.server.tls ? 'https' : 'http';
  return config.server.public_url ?? `${scheme}://${config.server.host}:${config.server.port}`;
}

/** What providers learn about the broker: its URL and the servers of its own lease store. */
export function providerContext(
  config: BrokerConfig,
  modules: ProviderContext['modules'] | undefined,
  discovered: () => readonly Endpoint[],
  redis?: Redis | Cluster,
): ProviderContext {
  const url = new URL(config.redis.url);
  const configured = [
    // In sentinel mode the URL's host is never connected to: the sentinels name the servers.
    ...(config.redis.mode === 'sentinel'
      ? []
      : [{ host: url.hostname, port: Number(url.port || 6379) }]),
    ...(config.redis.nodes ?? []),
  ];
  return {
    brokerUrl: brokerUrl(config),
    // The discovered servers as they are now, whenever a provider asks.
    ownRedis: () => [...configured, ...discovered()],
    coordination:
      redis === undefined
        ? processCoordination()
        : redisCoordination(redis, config.redis.key_prefix),
    ...(modules === undefined ? {} : { modules }),
  };
}

/*
 * Acquire: if nobody holds the lock, bump its fence and take it for `ttl` ms. Both keys share
 * a hash tag, so the script runs on one Cluster slot.
 */
const ACQUIRE = `if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return fence`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;
const RETRY_MS = 25;

/** Provider locks on the broker's own store connection: every replica sees the same ones. */
export function redisCoordination(redis: Redis | Cluster, prefix: string): ProviderCoordination {
  return {
    async withLock(name, { ttlMs, waitMs }, work) {
      const owner = `${prefix}:{lock:${name}}:owner`;
      const fenceKey = `${prefix}:{lock:${name}}:fence`;
      const token = randomBytes(16).toString('hex');
      const deadline = Date.now() + waitMs;
      let fence: number | null = null;
      for (;;) {
        fence = (await redis.eval(ACQUIRE, 2, owner, fenceKey, token, ttlMs)) as number | null;
        if (fence !== null) break;
        if (Date.now() >= deadline) throw new Error(`lock ${name} is held elsewhere`);
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
      const held: HeldLock = {
        fence,
        stillHeld: async () => (await redis.get(owner)) === token,
      };
      try {
        return await work(held);
      } finally {
        await redis.eval(RELEASE, 1, owner, token).catch(() => {});
      }
    },
  };
}

/** The memory store's broker is one process: its locks are a queue per name. */
function processCoordination(): ProviderCoordination {
  const tails = new Map<string, Promise<unknown>>();
  const fences = new Map<string, number>();
  return {
    async withLock(name, _options, work) {
      const before = tails.get(name) ?? Promise.resolve();
      let release = () => {};
      const mine = new Promise<void>((resolve) => {
        release = resolve;
      });
      tails.set(
        name,
        before.then(() => mine),
      );
      await before.catch(() => {});
      const fence = (fences.get(name) ?? 0) + 1;
      fences.set(name, fence);
      try {
        return await work({ fence, stillHeld: async () => true });
      } finally {
        release();
      }
    },
  };
}
