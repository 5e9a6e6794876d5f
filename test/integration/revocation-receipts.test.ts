import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slotTag } from '../../src/lib/ids.js';
import { MemoryReceiptStore } from '../../src/revocation/memory-receipts.js';
import {
  RECEIPT_EVENT_LIMIT,
  type ReceiptStore,
  type VerificationMark,
} from '../../src/revocation/receipt.js';
import { RedisReceiptStore } from '../../src/revocation/redis-receipts.js';
import {
  deletePrefix,
  REDIS_URL,
  redisAvailable,
  requireService,
  uniquePrefix,
} from '../helpers/services.js';

/*
 * Both receipt stores, one behaviour: a kill switch starts a receipt that replaces the last
 * one; answers and verifications reach only a receipt that exists; the listed chain positions
 * are bounded and the rest counted; the receipt expires.
 */

const redisUp = await requireService('redis', await redisAvailable());
const prefix = uniquePrefix('rcpt');
let redis: Redis | undefined;
let clock = 1_000_000;

const stores: [string, () => ReceiptStore][] = [
  ['memory', () => new MemoryReceiptStore(() => clock)],
  ...(redisUp
    ? ([['redis', () => new RedisReceiptStore(redis as Redis, prefix)]] as [
        string,
        () => ReceiptStore,
      ][])
    : []),
];

const start = (workload: string, reason = 'incident') => ({
  workload,
  by: 'alice@example.com',
  reason,
  blocked: true,
});

const mark = (workload: string, seq: number, overrides: Partial<VerificationMark> = {}) => ({
  workload,
  target: 'pg-app',
  provider: 'postgres',
  leaseId: `lse_${seq}`,
  status: 'verified' as const,
  position: { instance: 'i-1', seq },
  ...overrides,
});

beforeAll(() => {
  if (redisUp) redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  if (redis !== undefined) {
    await deletePrefix(redis, `${prefix}:`);
    redis.disconnect();
  }
});

describe.each(stores)('%s receipt store', (_name, make) => {
  it('has no receipt before a kill switch, and takes no answer or mark without one', async () => {
    const store = make();
    await store.answered('w-none', {
      receipt: 'none',
      counts: { revoked: 1, failed: 0, pending: 0 },
      position: { instance: 'i', seq: 1 },
    });
    await store.mark(mark('w-none', 2));
    expect(await store.get('w-none')).toBeNull();
  });

  it('holds the start, the answer and the per-target counts with their chain positions', async () => {
    const store = make();
    const id = await store.begin(start('w-a'), 60_000);
    await store.mark(mark('w-a', 3));
    await store.mark(mark('w-a', 4, { status: 'unverified', target: 'gh', provider: 'github' }));
    await store.mark(mark('w-a', 5, { status: 'unverifiable', target: 'mod', provider: 'module' }));
    await store.answered('w-a', {
      receipt: id,
      counts: { revoked: 3, failed: 0, pending: 0 },
      position: { instance: 'i-1', seq: 6 },
    });
    expect(await store.get('w-a')).toEqual({
      workload: 'w-a',
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      by: 'alice@example.com',
      reason: 'incident',
      blocked: true,
      counts: { revoked: 3, failed: 0, pending: 0 },
      verification: {
        verified: 1,
        unverified: 1,
        unverifiable: 1,
        targets: [
          { target: 'gh', provider: 'github', verified: 0, unverified: 1, unverifiable: 0 },
          { target: 'mod', provider: 'module', verified: 0, unverified: 0, unverifiable: 1 },
          { target: 'pg-app', provider: 'postgres', verified: 1, unverified: 0, unverifiable: 0 },
        ],
      },
      events: {
        workload_revoked: { instance: 'i-1', seq: 6 },
        verifications: [
          { instance: 'i-1', seq: 3, lease_id: 'lse_3', target: 'pg-app', status: 'verified' },
          { instance: 'i-1', seq: 4, lease_id: 'lse_4', target: 'gh', status: 'unverified' },
          { instance: 'i-1', seq: 5, lease_id: 'lse_5', target: 'mod', status: 'unverifiable' },
        ],
        verifications_omitted: 0,
      },
    });
  });

  it('counts a lease revoked since the receipt began, not one of an earlier kill switch', async () => {
    const store = make();
    await store.begin(start('w-d'), 60_000);
    const at = Date.parse((await store.get('w-d'))?.at ?? '');
    await store.mark(mark('w-d', 1, { revokedAt: at - 1 }));
    await store.mark(mark('w-d', 2, { revokedAt: at }));
    await store.mark(mark('w-d', 3, { revokedAt: at + 5 }));
    const receipt = await store.get('w-d');
    expect(receipt?.verification.verified).toBe(2);
    expect(receipt?.events.verifications.map((v) => v.seq)).toEqual([2, 3]);
  });

  it("a late answer of an earlier kill switch does not land in a later one's receipt", async () => {
    const store = make();
    const first = await store.begin(start('w-late', 'first'), 60_000);
    const second = await store.begin(start('w-late', 'second'), 60_000);
    expect(second).not.toBe(first);
    await store.answered('w-late', {
      receipt: second,
      counts: { revoked: 0, failed: 0, pending: 0 },
      position: { instance: 'i-2', seq: 20 },
    });
    // The first kill switch, slowed by its providers, answers after the second.
    await store.answered('w-late', {
      receipt: first,
      counts: { revoked: 7, failed: 1, pending: 0 },
      position: { instance: 'i-1', seq: 21 },
    });
    const receipt = await store.get('w-late');
    expect(receipt?.reason).toBe('second');
    expect(receipt?.counts).toEqual({ revoked: 0, failed: 0, pending: 0 });
    expect(receipt?.events.workload_revoked).toEqual({ instance: 'i-2', seq: 20 });
  });

  it('a new kill switch replaces the last receipt', async () => {
    const store = make();
    await store.begin(start('w-b', 'first'), 60_000);
    await store.mark(mark('w-b', 1));
    await store.begin(start('w-b', 'second'), 60_000);
    const receipt = await store.get('w-b');
    expect(receipt?.reason).toBe('second');
    expect(receipt?.verification.verified).toBe(0);
    expect(receipt?.events.verifications).toEqual([]);
    expect(receipt?.counts).toBeUndefined();
  });

  it(`lists at most ${RECEIPT_EVENT_LIMIT} verification events and counts the rest`, async () => {
    const store = make();
    await store.begin(start('w-c'), 60_000);
    for (let seq = 0; seq < RECEIPT_EVENT_LIMIT + 7; seq++) await store.mark(mark('w-c', seq));
    const receipt = await store.get('w-c');
    expect(receipt?.verification.verified).toBe(RECEIPT_EVENT_LIMIT + 7);
    expect(receipt?.events.verifications).toHaveLength(RECEIPT_EVENT_LIMIT);
    expect(receipt?.events.verifications_omitted).toBe(7);
  });
});

describe.skipIf(!redisUp)('redis receipt store keys', () => {
  it('keeps both keys on the workload slot and lets them expire with the retention', async () => {
    const store = new RedisReceiptStore(redis as Redis, prefix);
    await store.begin(start('w-ttl'), 30_000);
    await store.mark(mark('w-ttl', 1));
    const base = `${prefix}:{${slotTag('w-ttl')}}`;
    for (const key of [`${base}:receipt:w-ttl`, `${base}:receipt-ev:w-ttl`]) {
      const ttl = await (redis as Redis).pttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(30_000);
    }
  });
});

describe('memory receipt store expiry', () => {
  it('forgets a receipt past its retention', async () => {
    const store = new MemoryReceiptStore(() => clock);
    await store.begin(start('w-exp'), 1_000);
    clock += 999;
    expect(await store.get('w-exp')).not.toBeNull();
    clock += 1;
    expect(await store.get('w-exp')).toBeNull();
    await store.mark(mark('w-exp', 1));
    expect(await store.get('w-exp')).toBeNull();
  });
});
