import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

/**
 * Service-backed suites call these in `beforeAll`. Under `CI=true` a missing service fails
 * the suite; elsewhere the suite is skipped with a loud notice.
 */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

const isCI = process.env.CI === 'true' || process.env.CI === '1';

export async function redisAvailable(url = REDIS_URL): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 1500,
    retryStrategy: () => null,
  });
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** True when the machine's PostgreSQL (PG_URL) accepts a connection. */
export async function pgAvailable(url = PG_URL): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Resolves true when the suite may run; throws under CI when the service is missing. */
export async function requireService(name: string, available: boolean): Promise<boolean> {
  if (available) return true;
  const message = `${name} is not reachable: service-backed tests cannot run`;
  if (isCI) throw new Error(`${message} (CI=true)`);
  console.warn(`\n\n  !!! SKIPPED: ${message}. Start it or set the URL env var. !!!\n`);
  return false;
}

/** A key prefix unique to this test run, so parallel runs share one Redis safely. */
export function uniquePrefix(label: string): string {
  return `jt${randomBytes(4).toString('hex')}${label}`.slice(0, 32);
}

/** Deletes every key under a prefix (test clean-up). */
export async function deletePrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
}
