import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalDigest } from '../../src/approvals/digest.js';
import { MemoryApprovalStore } from '../../src/approvals/memory-store.js';
import { RedisApprovalStore } from '../../src/approvals/redis-store.js';
import type { ApprovalStore, NewApproval } from '../../src/approvals/types.js';
import {
  deletePrefix,
  REDIS_URL,
  redisAvailable,
  requireService,
  uniquePrefix,
} from '../helpers/services.js';

/**
 * Listing approvals reads a bounded number of Redis records: a workload's listing reads its
 * own index only, whatever other workloads have waiting, and a listing by status reads at
 * most `limit` plus a fixed overscan. Counted on the store's own client, command by command.
 */
const redisUp = await requireService('redis', await redisAvailable());

const BOUNDS = { maxPending: 100_000, maxPendingPerWorkload: 10_000 };
const OTHERS = 400;

function request(workload: string, n: number): NewApproval {
  const body = {
    workload,
    subject: `spiffe://test/${workload}`,
    issuer: 'test',
    target: 'tickets',
    scope: { scopes: ['tickets:read'] },
    task: { id: `task-${n}`, intent: 'escalate' },
    ttlMs: 60_000,
    policy: 'p',
    policyDigest: 'd',
  };
  return { ...body, digest: approvalDigest(body) };
}

/** Fills a store: `OTHERS` approvals spread over ten other workloads, then three of `mine`. */
async function fill(store: ApprovalStore): Promise<string[]> {
  const batch: Promise<unknown>[] = [];
  for (let i = 0; i < OTHERS; i++) {
    batch.push(store.collectOrOpen(request(`other-${i % 10}`, i), 60_000, BOUNDS));
  }
  await Promise.all(batch);
  const mine: string[] = [];
  for (let i = 0; i < 3; i++) {
    const got = await store.collectOrOpen(request('mine', i), 60_000, BOUNDS);
    if (got.outcome !== 'created') throw new Error(`expected a new approval, got ${got.outcome}`);
    mine.push(got.approval.id);
  }
  const decided = await store.decide(mine[0] ?? '', 'denied', 'op@example.com', 'no', 60_000);
  expect(decided.outcome).toBe('decided');
  return mine;
}

describe.runIf(redisUp)('approval listings read a bounded number of records (redis)', () => {
  const prefix = uniquePrefix('apl');
  let client: Redis;
  let store: RedisApprovalStore;
  let mine: string[];
  let commands = 0;

  beforeAll(async () => {
    client = new Redis(REDIS_URL);
    store = new RedisApprovalStore(client, prefix);
    mine = await fill(store);
    // Every command this client sends passes through `sendCommand`: count them.
    const send = client.sendCommand.bind(client);
    client.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => {
      commands += 1;
      return send(...args);
    }) as Redis['sendCommand'];
  }, 60_000);
  afterAll(async () => {
    if (client) {
      await deletePrefix(client, prefix);
      client.disconnect();
    }
  });

  async function counted<T>(run: () => Promise<T>): Promise<{ value: T; commands: number }> {
    const before = commands;
    const value = await run();
    return { value, commands: commands - before };
  }

  it('a workload listing with 400 other approvals stored reads only its own three', async () => {
    const one = await counted(() => store.list({ workload: 'mine' }, 1));
    expect(one.value.map((a) => a.workload)).toEqual(['mine']);
    // A prune, one index read, one record read.
    expect(one.commands).toBeLessThanOrEqual(3);

    const all = await counted(() => store.list({ workload: 'mine' }, 100));
    expect(new Set(all.value.map((a) => a.id))).toEqual(new Set(mine));
    expect(all.commands).toBeLessThanOrEqual(2 + mine.length);
  });

  it('a workload listing by status reads its own index, not the others', async () => {
    const denied = await counted(() => store.list({ workload: 'mine', status: 'denied' }, 1));
    expect(denied.value.map((a) => a.id)).toEqual([mine[0]]);
    expect(denied.commands).toBeLessThanOrEqual(2 + mine.length);
  });

  it('an operator listing by status reads at most limit plus the overscan', async () => {
    const denied = await counted(() => store.list({ status: 'denied' }, 1));
    expect(denied.value.map((a) => a.id)).toEqual([mine[0]]);
    expect(denied.commands).toBeLessThanOrEqual(2 + 1 + 200);

    const pending = await counted(() => store.list({ status: 'pending' }, 5));
    expect(pending.value).toHaveLength(5);
    expect(pending.value.every((a) => a.status === 'pending')).toBe(true);
    expect(pending.commands).toBeLessThanOrEqual(2 + 5 + 200);
  });

  it('trims a workload index to its bound (1,000), newest kept, in the creating script', async () => {
    const created: string[] = [];
    for (let i = 0; i < 1_010; i += 101) {
      const wave = await Promise.all(
        Array.from({ length: Math.min(101, 1_010 - i) }, (_, k) =>
          store.collectOrOpen(request('busy', i + k), 60_000, BOUNDS),
        ),
      );
      for (const got of wave) if (got.outcome === 'created') created.push(got.approval.id);
    }
    expect(created).toHaveLength(1_010);
    const key = `${prefix}:{${created[0]?.slice(4, 6)}}:approvals-of:busy`;
    expect(await client.zcard(key)).toBe(1_000);
    const listed = await counted(() => store.list({ workload: 'busy' }, 10));
    expect(listed.value).toHaveLength(10);
    expect(listed.commands).toBeLessThanOrEqual(2 + 10);
  }, 60_000);

  it('a decision that lengthens a record lengthens its workload index too (in the deciding script)', async () => {
    const got = await store.collectOrOpen(request('late', 1), 10_000, BOUNDS);
    if (got.outcome !== 'created') throw new Error(got.outcome);
    const key = `${prefix}:{${got.approval.id.slice(4, 6)}}:approvals-of:late`;
    const before = await client.pttl(key);
    const window = 7_200_000;
    expect((await store.decide(got.approval.id, 'approved', 'op', 'ok', window)).outcome).toBe(
      'decided',
    );
    const after = await client.pttl(key);
    // The record now stays the window plus an hour: so does the index that lists it.
    expect(after).toBeGreaterThan(before + window - 60_000);
    expect((await store.list({ workload: 'late' }, 5)).map((a) => a.status)).toEqual(['approved']);
  });

  it('keeps the workload index on the workload slot, bounded in time', async () => {
    const key = `${prefix}:{${mine[0]?.slice(4, 6)}}:approvals-of:mine`;
    expect(await client.zcard(key)).toBe(3);
    const ttl = await client.pttl(key);
    expect(ttl).toBeGreaterThan(0);
  });
});

describe('the memory store lists as the redis one does', () => {
  it('a workload listing, a status listing and an operator listing agree', async () => {
    const stores: ApprovalStore[] = [new MemoryApprovalStore()];
    const prefix = uniquePrefix('apm');
    const client = redisUp ? new Redis(REDIS_URL) : undefined;
    if (client) stores.push(new RedisApprovalStore(client, prefix));
    try {
      const shapes = [];
      for (const store of stores) {
        await fill(store);
        const shape = async (filter: Parameters<ApprovalStore['list']>[0], limit: number) =>
          (await store.list(filter, limit))
            .map((a) => `${a.workload}/${a.task.id}/${a.status}`)
            .sort();
        shapes.push([
          await shape({ workload: 'mine' }, 100),
          await shape({ workload: 'mine', status: 'pending' }, 100),
          await shape({ status: 'denied' }, 10),
          (await store.list({ workload: 'other-3' }, 1000)).length,
          (await store.list({ workload: 'mine' }, 2)).length,
        ]);
      }
      expect(shapes[0]).toEqual([
        ['mine/task-0/denied', 'mine/task-1/pending', 'mine/task-2/pending'],
        ['mine/task-1/pending', 'mine/task-2/pending'],
        ['mine/task-0/denied'],
        OTHERS / 10,
        2,
      ]);
      for (const shape of shapes.slice(1)) expect(shape).toEqual(shapes[0]);
    } finally {
      if (client) {
        await deletePrefix(client, prefix);
        client.disconnect();
      }
    }
  }, 60_000);
});
