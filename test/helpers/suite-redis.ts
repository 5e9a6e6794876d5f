import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import {
  deletePrefix,
  REDIS_URL,
  redisAvailable,
  requireService,
  uniquePrefix,
} from './services.js';

export interface SuiteRedis {
  /** This run's key prefix; every key under `prefix:` is deleted after the suite. */
  readonly prefix: string;
  /** The connection, undefined before `beforeAll` or when Redis is not reachable. */
  readonly connection: Redis | undefined;
  /** The connection; skips the calling test when Redis is not reachable. */
  client(ctx: { skip: () => void }): Redis;
}

/**
 * The machine's Redis for the enclosing suite: connected in its `beforeAll` (a missing Redis
 * fails under CI and skips elsewhere, see `requireService`), cleaned under a prefix of its
 * own and disconnected in its `afterAll`. Hooks registered after this call run once connected.
 */
export function suiteRedis(label: string): SuiteRedis {
  const prefix = uniquePrefix(label);
  let connection: Redis | undefined;
  beforeAll(async () => {
    if (await requireService('redis', await redisAvailable())) connection = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    if (connection === undefined) return;
    await deletePrefix(connection, `${prefix}:`);
    connection.disconnect();
  });
  return {
    prefix,
    get connection() {
      return connection;
    },
    client(ctx) {
      if (connection === undefined) ctx.skip();
      return connection as Redis;
    },
  };
}
