import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_HISTORY } from '../../src/detections/config.js';
import { MemoryDetectionState } from '../../src/detections/memory-state.js';
import { KNOWN_FOR_MS, RedisDetectionState } from '../../src/detections/redis-state.js';
import type { DetectionState } from '../../src/detections/state.js';
import {
  deletePrefix,
  REDIS_URL,
  redisAvailable,
  requireService,
  uniquePrefix,
} from '../helpers/services.js';

/*
 * The detection state in Redis: the same answers as memory, bounded per workload and rule,
 * and every key expiring.
 */

const ready = await requireService('redis', await redisAvailable());

describe.skipIf(!ready)('detection state in Redis', () => {
  const prefix = uniquePrefix('det');
  let redis: Redis;
  let state: RedisDetectionState;
  beforeAll(() => {
    redis = new Redis(REDIS_URL);
    state = new RedisDetectionState(redis, prefix);
  });
  afterAll(async () => {
    await deletePrefix(redis, `${prefix}:`);
    redis.disconnect();
  });
  const key = (rule: string) => ({ rule, workload: 'agent-a' });
  const T0 = Date.parse('2026-03-02T10:00:00Z');

  /** Runs the same operations on a store and answers everything it said. */
  async function script(s: DetectionState, rule: string): Promise<unknown[]> {
    const out: unknown[] = [];
    for (let i = 0; i < 12; i++) {
      // A copy: the memory store answers its own array, read before the next operation.
      out.push([
        ...(await s.addToWindow(
          key(`${rule}w`),
          { id: `e${i}`, seq: i, instance: 'x', at: T0 + i * 20_000 },
          60_000,
          4,
        )),
      ]);
      out.push(
        await s.remember(
          key(`${rule}h`),
          [`v${i % 5}`, `v${(i * 7) % 9}`],
          T0 + i * 3_600_000,
          86_400_000,
          6,
        ),
      );
      out.push(await s.countInBucket(key(`${rule}b`), T0 + i * 100_000, 300_000, 3));
      out.push(await s.startCooldown(key(`${rule}c`), T0 + i * 40_000, 100_000));
    }
    return out;
  }

  it('answers as the memory store does', async () => {
    expect(await script(state, 'same')).toEqual(await script(new MemoryDetectionState(), 'same'));
  });

  it('keeps at most the bound per workload and rule, and every key expires', async () => {
    for (let i = 0; i < MAX_HISTORY + 100; i += 50) {
      const values = Array.from({ length: 50 }, (_, j) => `target-${i + j}`);
      await state.remember(key('bound'), values, T0 + i, 7 * 86_400_000, MAX_HISTORY);
    }
    const history = state.key(key('bound'), 'h');
    expect(await redis.zcard(history)).toBe(MAX_HISTORY);
    // The least recently seen went first.
    expect(await redis.zscore(history, 'target-0')).toBeNull();
    expect(await redis.zscore(history, `target-${MAX_HISTORY + 99}`)).not.toBeNull();
    for (let i = 0; i < 50; i++) {
      await state.addToWindow(
        key('bound'),
        { id: `e${i}`, seq: i, instance: 'x', at: T0 + i },
        60_000,
        10,
      );
    }
    expect(await redis.zcard(state.key(key('bound'), 'w'))).toBe(10);
    await state.countInBucket(key('bound'), T0, 60_000, 10);
    await state.startCooldown(key('bound'), T0, 30_000);
    for (const part of ['w', 'h', 'b', 'c'] as const) {
      const ttl = await redis.pttl(state.key(key('bound'), part));
      expect(ttl, part).toBeGreaterThan(0);
    }
    expect(await redis.pttl(state.key(key('bound'), 'h'))).toBeLessThanOrEqual(7 * 86_400_000);
    expect(await redis.pttl(state.key(key('bound'), 'c'))).toBeLessThanOrEqual(30_000);
    // Every key of the workload sits on its slot tag.
    const tag = /\{(..)\}/.exec(history)?.[1];
    for (const part of ['w', 'b', 'c'] as const)
      expect(state.key(key('bound'), part)).toContain(`{${tag}}`);
  });

  it('a history value recorded within KNOWN_FOR_MS is known without a round trip; later ones refresh Redis', async () => {
    const fresh = new RedisDetectionState(redis, prefix);
    const k = key('known');
    const history = fresh.key(k, 'h');
    const keep = 86_400_000;
    expect(await fresh.remember(k, ['tickets', 'billing'], T0, keep, MAX_HISTORY)).toEqual({
      fresh: ['tickets', 'billing'],
      known: 0,
    });
    // Known to this replica: answered at once, nothing fresh, Redis not asked (its score stays).
    const cached = fresh.remember(k, ['billing', 'tickets'], T0 + 1_000, keep, MAX_HISTORY);
    expect(cached).not.toBeInstanceOf(Promise);
    expect(cached).toMatchObject({ fresh: [] });
    expect(Number(await redis.zscore(history, 'tickets'))).toBe(T0);
    // One value it has not recorded: Redis answers, and says which.
    const asked = fresh.remember(k, ['tickets', 'payroll'], T0 + 2_000, keep, MAX_HISTORY);
    expect(asked).toBeInstanceOf(Promise);
    expect((await asked).fresh).toEqual(['payroll']);
    // Past KNOWN_FOR_MS (event time) Redis is asked again, and its last-seen time moves on.
    const later = T0 + 2_000 + KNOWN_FOR_MS;
    const again = fresh.remember(k, ['tickets'], later, keep, MAX_HISTORY);
    expect(again).toBeInstanceOf(Promise);
    expect((await again).fresh).toEqual([]);
    expect(Number(await redis.zscore(history, 'tickets'))).toBe(later);
    // An event earlier than the recorded time is never taken as known.
    const early = fresh.remember(k, ['billing'], T0 - 1, keep, MAX_HISTORY);
    expect(early).toBeInstanceOf(Promise);
    await early;
  });
});
