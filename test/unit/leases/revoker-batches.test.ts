import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Provider, RevocationHandle } from '../../../providers/provider.js';
import type { EventInput } from '../../../src/events/types.js';
import { Revoker } from '../../../src/leases/revoker.js';
import { HandleSealer } from '../../../src/leases/sealing.js';
import type { Claim, LeaseStore, RevokeOutcome } from '../../../src/leases/types.js';
import { newLeaseId } from '../../../src/lib/ids.js';
import { Metrics } from '../../../src/metrics.js';
import { silentLogger, stubLease, stubProvider } from '../../helpers/stub-lease.js';

/*
 * How the revoker uses a provider's `revokeMany`: batches of `revokeBatchSize`, one
 * concurrency slot each; what a batch leaves, and every lease of a batch that fails, through
 * `revoke` one by one; a lone claim through `revoke`.
 */

const sealer = new HandleSealer([{ id: 'k1', key: randomBytes(32) }]);

function claim(target = 't1'): Claim {
  const id = newLeaseId('agent-a');
  const lease = stubLease({
    id,
    target,
    state: 'revoking',
    handle: sealer.seal(id, { account: `acct-${id}` }),
  });
  return { lease, token: 'claim-token', reason: 'workload_revoked' };
}

interface Calls {
  batches: string[][];
  singles: string[];
  maxInFlight: number;
}

function provider(
  calls: Calls,
  revokeMany: (ids: string[]) => Promise<string[]>,
  extra: Partial<Provider> = {},
): Provider {
  let inFlight = 0;
  return stubProvider({
    revoke: async (_handle, leaseId) => {
      calls.singles.push(leaseId);
    },
    async revokeMany(items) {
      inFlight += 1;
      calls.maxInFlight = Math.max(calls.maxInFlight, inFlight);
      try {
        for (const { handle, leaseId } of items) {
          // Each lease arrives with its own opened handle.
          expect(handle).toEqual({ account: `acct-${leaseId}` });
        }
        const ids = items.map((item) => item.leaseId);
        calls.batches.push(ids);
        await new Promise((resolve) => setTimeout(resolve, 5));
        return await revokeMany(ids);
      } finally {
        inFlight -= 1;
      }
    },
    revokeBatchSize: 3,
    ...extra,
  });
}

function setup(p: Provider) {
  const finished = new Map<string, RevokeOutcome>();
  const after: { id: string; handle: RevocationHandle }[] = [];
  const events: EventInput[] = [];
  const store = {
    finishMany: async (items: readonly { claim: Claim; outcome: RevokeOutcome }[]) =>
      items.map(({ claim: c, outcome }) => {
        finished.set(c.lease.id, outcome);
        return {
          lease: { ...c.lease, state: outcome.ok ? 'revoked' : 'revoking' },
          transition: outcome.ok ? 'revoked' : 'retry',
        };
      }),
  } as unknown as LeaseStore;
  const revoker = new Revoker({
    store,
    providers: () => new Map([[p.target, p]]),
    sealer: () => sealer,
    events: {
      emit: async (event) => {
        events.push(event);
      },
    },
    metrics: new Metrics(),
    logger: silentLogger(),
    backoffBaseMs: 1000,
    backoffMaxMs: 10_000,
    afterRevoke: (lease, _provider, handle) => after.push({ id: lease.id, handle }),
  });
  return { revoker, finished, after, events };
}

const fresh = (): Calls => ({ batches: [], singles: [], maxInFlight: 0 });

describe('Revoker batches', () => {
  it('hands claims to revokeMany in batches of revokeBatchSize, one concurrency slot each', async () => {
    const calls = fresh();
    const { revoker, finished, after, events } = setup(provider(calls, async () => []));
    const claims = Array.from({ length: 7 }, () => claim());

    const tally = await revoker.execute(claims);

    expect(tally).toEqual({ revoked: 7, failed: 0, pending: 0 });
    expect(calls.batches.map((b) => b.length)).toEqual([3, 3, 1]);
    expect(calls.batches.flat().sort()).toEqual(claims.map((c) => c.lease.id).sort());
    expect(calls.maxInFlight).toBe(1);
    expect(calls.singles).toEqual([]);
    expect([...finished.values()]).toEqual(Array(7).fill({ ok: true }));
    expect(events.filter((e) => e.type === 'lease.revoked')).toHaveLength(7);
    // Whatever is told of a finished revocation gets each lease's own handle.
    expect(after.map((a) => a.handle)).toEqual(after.map((a) => ({ account: `acct-${a.id}` })));
  });

  it('revokes what a batch leaves lease by lease', async () => {
    const calls = fresh();
    const claims = Array.from({ length: 3 }, () => claim());
    const leftOver = claims[1]?.lease.id as string;
    const { revoker, finished } = setup(provider(calls, async () => [leftOver]));

    const tally = await revoker.execute(claims);

    expect(tally).toEqual({ revoked: 3, failed: 0, pending: 0 });
    expect(calls.singles).toEqual([leftOver]);
    expect(finished.size).toBe(3);
  });

  it('revokes every lease of a failed batch lease by lease, and counts only their own failures', async () => {
    const calls = fresh();
    const claims = Array.from({ length: 3 }, () => claim());
    const p = provider(calls, async () => {
      throw new Error('DROP ROLE failed');
    });
    const failing = claims[2]?.lease.id as string;
    p.revoke = async (_handle, leaseId) => {
      calls.singles.push(leaseId);
      if (leaseId === failing) throw new Error('still blocked');
    };
    const { revoker, finished } = setup(p);

    const tally = await revoker.execute(claims);

    expect(tally).toEqual({ revoked: 2, failed: 1, pending: 0 });
    expect(calls.singles.sort()).toEqual(claims.map((c) => c.lease.id).sort());
    expect(finished.get(failing)).toMatchObject({ ok: false, error: 'still blocked' });
  });

  it('a lone claim goes through revoke, and a provider without revokeMany is never batched', async () => {
    const calls = fresh();
    const { revoker } = setup(provider(calls, async () => []));
    await revoker.execute([claim()]);
    expect(calls.batches).toEqual([]);
    expect(calls.singles).toHaveLength(1);

    const plain = fresh();
    const bare = provider(plain, async () => []);
    delete bare.revokeMany;
    const { revoker: other } = setup(bare);
    expect(await other.execute([claim(), claim()])).toEqual({ revoked: 2, failed: 0, pending: 0 });
    expect(plain.singles).toHaveLength(2);
  });
});
