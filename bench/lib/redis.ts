import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * A key prefix for one benchmark run. The machine's Redis is shared with test runs and other
 * sessions, so every run writes under its own prefix and deletes it at the end.
 */
export function runPrefix(label: string): string {
  return `jb${randomBytes(4).toString('hex')}${label}`.slice(0, 32);
}

export function adminClient(url = REDIS_URL): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1 });
}

/** SCAN + DEL of every key under `prefix:`; returns how many keys were deleted. */
export async function deletePrefix(client: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 2000);
    cursor = next;
    if (keys.length > 0) deleted += await client.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** Every key under `prefix:`, in SCAN batches. */
export async function* scanPrefix(client: Redis, prefix: string): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 2000);
    cursor = next;
    if (keys.length > 0) yield keys;
  } while (cursor !== '0');
}

export function infoField(info: string, field: string): string | undefined {
  const match = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return match?.[1]?.trim();
}

export async function usedMemory(client: Redis): Promise<number> {
  return Number(infoField(await client.info('memory'), 'used_memory'));
}

export interface CommandStat {
  calls: number;
  usec: number;
}

/** Server-side time per command (`INFO commandstats`). Counts every client of the server. */
export async function commandStats(client: Redis): Promise<Map<string, CommandStat>> {
  const info = await client.info('commandstats');
  const out = new Map<string, CommandStat>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    out.set(match[1] as string, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return out;
}

export function diffCommandStats(
  before: Map<string, CommandStat>,
  after: Map<string, CommandStat>,
): Map<string, CommandStat> {
  const out = new Map<string, CommandStat>();
  for (const [name, stat] of after) {
    const prev = before.get(name) ?? { calls: 0, usec: 0 };
    if (stat.calls > prev.calls) {
      out.set(name, { calls: stat.calls - prev.calls, usec: stat.usec - prev.usec });
    }
  }
  return out;
}

/** CPU seconds of the Redis main thread (user + sys), the thread that runs every command. */
export async function redisCpuSeconds(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  return (
    Number(infoField(info, 'used_cpu_user_main_thread') ?? infoField(info, 'used_cpu_user')) +
    Number(infoField(info, 'used_cpu_sys_main_thread') ?? infoField(info, 'used_cpu_sys'))
  );
}

/** Command stats and CPU of the server across a measured window. */
export async function redisWindow(client: Redis): Promise<() => Promise<RedisUsage>> {
  const stats = await commandStats(client);
  const cpu = await redisCpuSeconds(client);
  return async () => {
    const commands = diffCommandStats(stats, await commandStats(client));
    return { cpuMs: ((await redisCpuSeconds(client)) - cpu) * 1000, commands };
  };
}

export interface RedisUsage {
  /** Redis main-thread CPU during the window (includes other clients of a shared server). */
  cpuMs: number;
  commands: Map<string, CommandStat>;
}

export async function redisVersion(client: Redis): Promise<string> {
  return infoField(await client.info('server'), 'redis_version') ?? 'unknown';
}
