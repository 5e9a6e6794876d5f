import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseKeys } from '../../src/leases/keys.js';
import { type Harness, sleep, startHarness } from '../helpers/broker-harness.js';
import { type RedisProc, startOrSkip, startRedis } from '../helpers/redis-procs.js';

/**
 * Finished leases stay readable for the audit window, then their keys expire through Redis
 * TTLs: after any burst of issue + revoke, a workload is back to the same small set of keys.
 * A dedicated `redis-server` so that every key in it is this broker's.
 */
const RETENTION_MS = 1_000;

interface Issued {
  lease_id: string;
}

describe('retention: finished leases expire, keys do not grow', () => {
  let redis: RedisProc | null = null;
  let h: Harness | undefined;
  let inspect: Redis;
  let prefix: string;
  let layout: LeaseKeys;
  let agent: string;

  beforeAll(async () => {
    redis = await startOrSkip('redis-server (for the retention test)', () => startRedis());
    if (!redis) return;
    const url = redis.url;
    h = await startHarness({
      store: 'redis',
      configure(raw) {
        raw.redis = { ...(raw.redis as object), url };
        (raw.leases as Record<string, unknown>).retention = `${RETENTION_MS}ms`;
      },
    });
    prefix = h.config.redis.key_prefix;
    layout = new LeaseKeys(prefix);
    inspect = redis.client();
    agent = await h.workloadToken('spiffe://test/agent-a');
  });

  afterAll(async () => {
    inspect?.disconnect();
    await h?.close();
    await redis?.destroy();
  });

  /**
   * Keys under the prefix, minus `due-hint`: a revocation's claim leaves its workload in the
   * hint until the claim deadline, and the reaper then drops it; one entry per workload.
   */
  async function keys(): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await inspect.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
    expect(await inspect.zcard(`${prefix}:due-hint`)).toBeLessThanOrEqual(3);
    return found
      .map((k) => k.slice(prefix.length + 1))
      .filter((k) => k !== 'due-hint')
      .sort();
  }

  /** Issues `n` leases of agent-a (one task each) and revokes them all through the API. */
  async function burst(hh: Harness, n: number, label: string): Promise<string[]> {
    const issued = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const res = await hh.request('/v1/credentials', {
          method: 'POST',
          token: agent,
          json: {
            target: 'tickets',
            scope: { scopes: ['tickets:read'] },
            task: { id: `${label}-${i}`, intent: 'triage' },
          },
        });
        expect(res.status).toBe(201);
        return ((await res.json()) as Issued).lease_id;
      }),
    );
    for (const id of issued) {
      const res = await hh.request(`/v1/leases/${id}`, { method: 'DELETE', token: agent });
      expect(res.status).toBe(200);
    }
    return issued;
  }

  async function settled(): Promise<string[]> {
    // The audit window, the reaper's pass that drops the due hint, and a margin.
    await sleep(RETENTION_MS + 700);
    return keys();
  }

  it('keeps finished leases readable for the window, then drops every key of them', async (ctx) => {
    if (!h) return ctx.skip();
    const hh = h;
    const ids = await burst(hh, 30, 'first');
    const during = await keys();
    // One key per lease (its hash, found from the id alone), nothing else per lease.
    expect(during.filter((k) => k.includes(':lse_')).sort()).toEqual(
      ids.map((id) => layout.lease(id).slice(prefix.length + 1)).sort(),
    );
    expect(during).toContain(layout.done('agent-a').slice(prefix.length + 1));
    expect(await inspect.zcard(layout.done('agent-a'))).toBe(30);
    // Every key of a finished lease carries a TTL no longer than the window.
    for (const id of ids.slice(0, 3)) {
      const ttl = await inspect.pttl(layout.lease(id));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(RETENTION_MS);
    }
    const readable = await hh.request(`/v1/leases/${ids[0]}`, { token: agent });
    expect(readable.status).toBe(200);
    expect(await readable.json()).toMatchObject({ state: 'revoked' });

    const after = await settled();
    expect(after.filter((k) => k.includes(':lse_'))).toEqual([]);
    expect(after.filter((k) => k.includes(':task:'))).toEqual([]);
    // The done index is pruned too, not only the hashes it points at.
    expect(await inspect.zcard(layout.done('agent-a'))).toBe(0);
    const gone = await hh.request(`/v1/leases/${ids[0]}`, { token: agent });
    expect(gone.status).toBe(404);
  });

  it('returns to the same fixed set of keys after every burst', async (ctx) => {
    if (!h) return ctx.skip();
    const hh = h;
    await burst(hh, 20, 'warm');
    const baseline = await settled();
    await burst(hh, 60, 'second');
    const peak = await keys();
    expect(peak.length).toBeGreaterThanOrEqual(baseline.length + 60);
    const afterSecond = await settled();
    await burst(hh, 60, 'third');
    const afterThird = await settled();
    expect(afterSecond).toEqual(baseline);
    expect(afterThird).toEqual(baseline);
    // What stays is global or per-workload bookkeeping, never per-lease or per-task keys.
    for (const key of baseline) {
      expect(key).toMatch(
        /^(workloads|events|frozen|layout|\{[0-9a-z]{2}\}:(due|meta):[a-z0-9._-]+)$/,
      );
    }
  });
});
