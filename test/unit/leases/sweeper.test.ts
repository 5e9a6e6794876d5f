import { describe, expect, it } from 'vitest';
import type { Provider } from '../../../providers/provider.js';
import { MemoryLeaseStore } from '../../../src/leases/memory-store.js';
import { Sweeper } from '../../../src/leases/sweeper.js';
import type { LeaseStore } from '../../../src/leases/types.js';
import { createLogger } from '../../../src/lib/logger.js';
import { CONFORMANCE_SETTINGS, newLease } from '../../helpers/lease-store-conformance.js';

const silent = createLogger({ level: 'silent' });

function sweeperOver(store: LeaseStore, seen: Map<string, boolean>, ids: string[]) {
  const provider = {
    target: 'db',
    async sweep(isLive: (id: string) => Promise<boolean>, graceMs: number) {
      expect(graceMs).toBe(600_000);
      let removed = 0;
      for (const id of ids) {
        const live = await isLive(id);
        seen.set(id, live);
        if (!live) removed += 1;
      }
      return removed;
    },
  } as unknown as Provider;
  return new Sweeper({
    store,
    providers: () => new Map([['db', provider]]),
    logger: silent,
    intervalMs: 60_000,
    graceMs: 600_000,
  });
}

describe('Sweeper', () => {
  it('treats only unknown and finished leases as orphans', async () => {
    const store = new MemoryLeaseStore(CONFORMANCE_SETTINGS);
    const live = await store.create(newLease());
    await store.activate(live, 'h');
    const finished = await store.create(newLease());
    await store.activate(finished, 'h');
    const [r] = await store.requestRevoke([finished.id], 'owner');
    if (r?.status !== 'claimed') throw new Error('not claimed');
    await store.finish(r.claim, { ok: true });
    const pending = await store.create(newLease());
    const unknown = 'lse_00000000000000000000000000';
    const seen = new Map<string, boolean>();
    const removed = await sweeperOver(store, seen, [
      live.id,
      finished.id,
      pending.id,
      unknown,
    ]).sweep();
    expect(Object.fromEntries(seen)).toEqual({
      [live.id]: true,
      [finished.id]: false,
      [pending.id]: true,
      [unknown]: false,
    });
    expect(removed).toBe(2);
  });

  it('when the store cannot answer, nothing is an orphan', async () => {
    const broken = {
      get: async () => Promise.reject(new Error('redis down')),
    } as unknown as LeaseStore;
    const seen = new Map<string, boolean>();
    expect(await sweeperOver(broken, seen, ['lse_x']).sweep()).toBe(0);
    expect(seen.get('lse_x')).toBe(true);
  });
});
