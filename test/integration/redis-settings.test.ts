import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { listpackValueLimit, RECOMMENDED_LISTPACK_VALUE } from '../../src/leases/redis-client.js';
import { startHarness } from '../helpers/broker-harness.js';
import { startOrSkip, startRedis } from '../helpers/redis-procs.js';
import {
  deletePrefix,
  REDIS_URL,
  redisAvailable,
  requireService,
  uniquePrefix,
} from '../helpers/services.js';

describe('Redis settings the broker checks at start', () => {
  it('warns when lease hashes cannot stay listpack-encoded', async (ctx) => {
    if (!(await requireService('redis', await redisAvailable()))) ctx.skip();
    const redis = new Redis(REDIS_URL);
    try {
      const [, configured] = (await redis.config('GET', 'hash-max-listpack-value')) as [
        string,
        string,
      ];
      expect(await listpackValueLimit(redis)).toBe(Number(configured));
      const h = await startHarness({ store: 'redis' });
      await h.close();
      const warned = h.logs.text.includes('hash-max-listpack-value is');
      expect(warned).toBe(Number(configured) < RECOMMENDED_LISTPACK_VALUE);
    } finally {
      redis.disconnect();
    }
  });

  it('refuses to start on a prefix an earlier key layout wrote', async (ctx) => {
    if (!(await requireService('redis', await redisAvailable()))) ctx.skip();
    const redis = new Redis(REDIS_URL);
    const prefix = uniquePrefix('old');
    try {
      await redis.sadd(`${prefix}:workloads`, 'agent-a');
      await expect(
        startHarness({
          store: 'redis',
          configure(raw) {
            (raw.redis as { key_prefix: string }).key_prefix = prefix;
          },
        }),
      ).rejects.toThrow(/earlier key layout/);
    } finally {
      await deletePrefix(redis, `${prefix}:`);
      redis.disconnect();
    }
  });

  it('a wrong Redis password stops the start at once, naming the refusal, not the secret', async (ctx) => {
    const password = `pw-${Date.now().toString(36)}`;
    const server = await startOrSkip('redis-server', () => startRedis());
    if (!server) return ctx.skip();
    const admin = server.client();
    await admin.config('SET', 'requirepass', password);
    admin.disconnect();
    const at = (secret: string) =>
      startHarness({
        store: 'redis',
        configure(raw) {
          (raw.redis as { url: string }).url = `redis://:${secret}@127.0.0.1:${server.port}`;
        },
      });
    try {
      const refused = await at('not-the-password').then(
        () => undefined,
        (err: Error) => err,
      );
      expect(refused?.message).toMatch(/refused the credentials/);
      expect(refused?.message).not.toContain('not-the-password');
      const h = await at(password);
      await h.close();
      expect(h.logs.text).not.toContain(password);
    } finally {
      await server.destroy();
    }
  });
});
