import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerError } from '../../src/errors.js';
import type { LeaseStore, NewLease, StoreSettings } from '../../src/leases/types.js';
import { LEASE_ID_PATTERN, slotTag } from '../../src/lib/ids.js';

/** A target whose credential is the lease state (like a jwt target). */
const IN_PLACE: ReadonlySet<string> = new Set(['in-place-target']);

export const CONFORMANCE_SETTINGS: StoreSettings = {
  retentionMs: 600,
  pendingTimeoutMs: 300,
  claimTimeoutMs: 300,
  maxAttempts: 3,
  failedRetryMs: 200,
  inPlaceTargets: () => IN_PLACE,
};

export interface StoreHarness {
  store: LeaseStore;
  /** Removes everything the suite wrote. */
  cleanup(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let counter = 0;

export function newLease(overrides: Partial<NewLease> = {}): NewLease {
  counter += 1;
  return {
    workload: `wl-${counter}`,
    subject: 'system:serviceaccount:mcp:github-mcp',
    issuer: 'k8s',
    target: 'jwt-internal',
    provider: 'jwt',
    scope: { scopes: ['read'] },
    task: { id: `task-${counter}`, intent: 'code-review' },
    policy: 'p1',
    policyHash: 'sha256:abc',
    ttlMs: 60_000,
    maxTtlMs: 120_000,
    maxLive: 100,
    ...overrides,
  };
}

/** Another workload whose keys share `workload`'s slot tag (so its lease id names the same tag). */
function sameSlotWorkload(workload: string): string {
  for (let i = 0; ; i += 1) {
    const candidate = `${workload}-twin-${i}`;
    if (slotTag(candidate) === slotTag(workload)) return candidate;
  }
}

async function activeLease(store: LeaseStore, overrides: Partial<NewLease> = {}) {
  const lease = await store.create(newLease(overrides));
  const result = await store.activate(lease, 'sealed-handle');
  if (result.outcome !== 'active') throw new Error(`expected active, got ${result.outcome}`);
  return result.lease;
}

/** The contract every LeaseStore honours; runs against the memory and the Redis store. */
export function describeLeaseStore(name: string, open: () => Promise<StoreHarness | null>): void {
  describe(`LeaseStore conformance: ${name}`, () => {
    let h: StoreHarness | null = null;
    let store: LeaseStore;
    beforeAll(async () => {
      h = await open();
      if (h) store = h.store;
    });
    afterAll(async () => {
      await h?.cleanup();
    });
    const test = (title: string, fn: () => Promise<void>) =>
      it(title, async (ctx) => {
        if (!h) ctx.skip();
        await fn();
      });

    test('creates a pending lease with a 128-bit id and times from the store clock', async () => {
      const before = await store.now();
      const lease = await store.create(newLease({ ttlMs: 5_000, maxTtlMs: 9_000 }));
      expect(lease.id).toMatch(LEASE_ID_PATTERN);
      expect(lease.state).toBe('pending');
      expect(lease.createdAt).toBeGreaterThanOrEqual(before);
      expect(lease.expiresAt - lease.createdAt).toBe(5_000);
      expect(lease.maxExpiresAt - lease.createdAt).toBe(9_000);
      expect((await store.get(lease.id))?.task).toEqual(lease.task);
      expect(await store.get('lse_00000000000000000000000000')).toBeNull();
    });

    test('activates with the sealed handle', async () => {
      const lease = await activeLease(store);
      const read = await store.get(lease.id);
      expect(read?.state).toBe('active');
      expect(read?.handle).toBe('sealed-handle');
    });

    test('activation under another workload finds no lease and changes nothing', async () => {
      const lease = await store.create(newLease());
      const sameSlot = sameSlotWorkload(lease.workload);
      for (const workload of ['someone-else', sameSlot]) {
        expect((await store.activate({ id: lease.id, workload }, 'h')).outcome).toBe('missing');
      }
      const read = await store.get(lease.id);
      expect(read?.state).toBe('pending');
      expect(read?.handle).toBeUndefined();
    });

    test('refuses past the per-workload cap of live leases', async () => {
      const base = newLease({ maxLive: 2 });
      await store.create(base);
      await store.create(base);
      await expect(store.create(base)).rejects.toMatchObject({ code: 'lease_cap_reached' });
    });

    test('revokes once when two callers race, and is idempotent afterwards', async () => {
      const lease = await activeLease(store);
      const [a, b] = await Promise.all([
        store.requestRevoke([lease.id], 'operator'),
        store.requestRevoke([lease.id], 'owner'),
      ]);
      const statuses = [a[0]?.status, b[0]?.status].sort();
      expect(statuses).toEqual(['claimed', 'in_progress']);
      const claimed = [a[0], b[0]].find((r) => r?.status === 'claimed');
      if (claimed?.status !== 'claimed') throw new Error('no claim');
      expect(claimed.claim.lease.handle).toBe('sealed-handle');
      const done = await store.finish(claimed.claim, { ok: true });
      expect(done.transition).toBe('revoked');
      expect(done.lease.handle).toBeUndefined();
      const again = await store.requestRevoke([lease.id], 'operator');
      expect(again[0]?.status).toBe('done');
      expect((await store.finish(claimed.claim, { ok: true })).transition).toBe('none');
    });

    test('a revoke during minting is deferred and activation then revokes', async () => {
      const lease = await store.create(newLease());
      const [r] = await store.requestRevoke([lease.id], 'owner');
      expect(r?.status).toBe('deferred');
      const result = await store.activate(lease, 'h');
      expect(result.outcome).toBe('revoke');
      if (result.outcome !== 'revoke') return;
      expect(result.claim.reason).toBe('owner');
      expect((await store.finish(result.claim, { ok: true })).lease.state).toBe('revoked');
    });

    test('the kill-switch epoch revokes a mint in flight even without block', async () => {
      const input = newLease();
      const inFlight = await store.create(input);
      const active = await activeLease(store, { workload: input.workload });
      const revocation = await store.revokeWorkload(input.workload, {
        block: false,
        reason: 'incident',
      });
      expect(revocation.deferred).toBe(1);
      expect(revocation.claims.map((c) => c.lease.id)).toEqual([active.id]);
      const result = await store.activate(inFlight, 'h');
      expect(result.outcome).toBe('revoke');
      await sleep(5);
      const later = await store.create(input);
      expect((await store.activate(later, 'h')).outcome).toBe('active');
      expect(await store.isBlocked(input.workload)).toBe(false);
    });

    test('block refuses new leases until unblocked', async () => {
      const input = newLease();
      const leases = await Promise.all(
        Array.from({ length: 20 }, () => activeLease(store, { workload: input.workload })),
      );
      const revocation = await store.revokeWorkload(input.workload, {
        block: true,
        reason: 'compromised',
      });
      expect(revocation.claims.map((c) => c.lease.id).sort()).toEqual(
        leases.map((l) => l.id).sort(),
      );
      await expect(store.create(input)).rejects.toMatchObject({
        code: 'workload_blocked',
      } satisfies Partial<BrokerError>);
      expect(await store.isBlocked(input.workload)).toBe(true);
      const summary = (await store.workloads()).find((w) => w.workload === input.workload);
      expect(summary).toMatchObject({ live: 20, blocked: true });
      expect(await store.unblock(input.workload)).toBe(true);
      await expect(store.create(input)).resolves.toMatchObject({ state: 'pending' });
    });

    test('an expired lease becomes due, is claimed as expired, and ends expired', async () => {
      const lease = await activeLease(store, { ttlMs: 150 });
      expect(await store.claimDue(lease.workload, 10)).toEqual([]);
      await sleep(250);
      expect(await store.dueWorkloads(1000)).toContain(lease.workload);
      const claims = await store.claimDue(lease.workload, 10);
      expect(claims.map((c) => [c.lease.id, c.reason])).toEqual([[lease.id, 'expired']]);
      const done = await store.finish(claims[0]!, { ok: true });
      expect(done.transition).toBe('expired');
      expect(done.lease.state).toBe('expired');
    });

    test('a crashed mint (pending past its timeout) is claimed by the reaper', async () => {
      const lease = await store.create(newLease());
      await sleep(CONFORMANCE_SETTINGS.pendingTimeoutMs + 100);
      const claims = await store.claimDue(lease.workload, 10);
      expect(claims.map((c) => [c.lease.id, c.reason])).toEqual([[lease.id, 'pending_timeout']]);
      expect(claims[0]?.lease.handle).toBeUndefined();
    });

    test('two reapers never claim the same lease', async () => {
      // Long enough that every lease is active before it expires, even on a loaded machine.
      const input = newLease({ ttlMs: 1_000 });
      await Promise.all(Array.from({ length: 30 }, () => activeLease(store, input)));
      await sleep(1_100);
      const [a, b] = await Promise.all([
        store.claimDue(input.workload, 100),
        store.claimDue(input.workload, 100),
      ]);
      const ids = [...a, ...b].map((c) => c.lease.id);
      expect(ids).toHaveLength(30);
      expect(new Set(ids).size).toBe(30);
    });

    test('a claim whose holder died is reclaimed after the visibility timeout', async () => {
      const lease = await activeLease(store);
      const [first] = await store.requestRevoke([lease.id], 'operator');
      if (first?.status !== 'claimed') throw new Error('not claimed');
      expect((await store.requestRevoke([lease.id], 'operator'))[0]?.status).toBe('in_progress');
      await sleep(CONFORMANCE_SETTINGS.claimTimeoutMs + 100);
      const claims = await store.claimDue(lease.workload, 10);
      expect(claims.map((c) => c.lease.id)).toEqual([lease.id]);
      expect((await store.finish(first.claim, { ok: true })).transition).toBe('none');
      expect((await store.finish(claims[0]!, { ok: true })).transition).toBe('revoked');
    });

    test('failures retry with backoff, then revoke_failed once, and stay retryable', async () => {
      const lease = await activeLease(store);
      const [r] = await store.requestRevoke([lease.id], 'operator');
      if (r?.status !== 'claimed') throw new Error('not claimed');
      let claim = r.claim;
      const transitions: string[] = [];
      for (let i = 0; i < 4; i += 1) {
        const result = await store.finish(claim, {
          ok: false,
          error: 'upstream 500',
          retryInMs: 0,
        });
        transitions.push(result.transition);
        await sleep(i >= 2 ? CONFORMANCE_SETTINGS.failedRetryMs + 50 : 5);
        const [next] = await store.claimDue(lease.workload, 10);
        if (!next) throw new Error(`nothing due after attempt ${i + 1}`);
        claim = next;
      }
      expect(transitions).toEqual(['retry', 'retry', 'revoke_failed', 'retry']);
      await store.finish(claim, { ok: false, error: 'still failing', retryInMs: 0 });
      const failed = await store.get(lease.id);
      expect(failed).toMatchObject({
        state: 'revoke_failed',
        attempts: 5,
        lastError: 'still failing',
      });
      const retried = await store.retry(lease.id);
      expect(retried.status).toBe('claimed');
      if (retried.status !== 'claimed') return;
      expect((await store.finish(retried.claim, { ok: true })).lease.state).toBe('revoked');
      const other = await activeLease(store);
      expect((await store.retry(other.id)).status).toBe('not_retryable');
    });

    test('extends an active lease up to its max expiry, and nothing else', async () => {
      const lease = await activeLease(store, { ttlMs: 1_000, maxTtlMs: 5_000 });
      const longer = await store.extend(lease.id, lease.createdAt + 3_000, 'new-handle');
      expect(longer.expiresAt).toBe(lease.createdAt + 3_000);
      expect(longer.handle).toBe('new-handle');
      const capped = await store.extend(lease.id, lease.createdAt + 60_000);
      expect(capped.expiresAt).toBe(lease.maxExpiresAt);
      expect(capped.handle).toBe('new-handle');
      const [r] = await store.requestRevoke([lease.id], 'owner');
      if (r?.status !== 'claimed') throw new Error('not claimed');
      await store.finish(r.claim, { ok: true });
      await expect(store.extend(lease.id, lease.createdAt + 4_000)).rejects.toMatchObject({
        code: 'lease_not_active',
      });
      const pending = await store.create(newLease());
      await expect(store.extend(pending.id, pending.createdAt + 4_000)).rejects.toMatchObject({
        code: 'lease_not_active',
      });
      await expect(store.extend('lse_00000000000000000000000000', 1)).rejects.toMatchObject({
        code: 'lease_not_found',
      });
    });

    test('an extended lease is not reaped at its old expiry', async () => {
      const lease = await activeLease(store, { ttlMs: 150, maxTtlMs: 10_000 });
      await store.extend(lease.id, lease.createdAt + 5_000);
      await sleep(250);
      expect(await store.claimDue(lease.workload, 10)).toEqual([]);
    });

    test('a lease whose credential is the lease state is revoked in place, once', async () => {
      const input = newLease({ target: 'in-place-target' });
      const lease = await activeLease(store, input);
      const [first] = await store.requestRevoke([lease.id], 'owner');
      expect(first?.status).toBe('revoked');
      if (first?.status !== 'revoked') return;
      expect(first.lease).toMatchObject({ state: 'revoked', revokeReason: 'owner' });
      expect(first.lease.handle).toBeUndefined();
      expect(await store.get(lease.id)).toMatchObject({ state: 'revoked' });
      expect(await store.taskLeases(input.workload, input.task.id)).toEqual([]);
      expect(await store.claimDue(input.workload, 10)).toEqual([]);
      expect((await store.requestRevoke([lease.id], 'operator'))[0]?.status).toBe('done');
      const other = await activeLease(store, {
        workload: input.workload,
        target: 'in-place-target',
      });
      const seen: string[] = [];
      const revocation = await store.revokeWorkload(
        input.workload,
        { block: false, reason: 'x' },
        (claims, inPlace) => {
          seen.push(...claims.map((c) => c.lease.id), ...inPlace.map((l) => l.id));
        },
      );
      expect(revocation.claims).toEqual([]);
      expect(seen).toEqual([other.id]);
      expect(await store.get(other.id)).toMatchObject({
        state: 'revoked',
        revokeReason: 'workload_revoked',
      });
    });

    test('task index lists live leases of a task and forgets finished ones', async () => {
      const input = newLease();
      const a = await activeLease(store, input);
      const b = await activeLease(store, input);
      expect((await store.taskLeases(input.workload, input.task.id)).sort()).toEqual(
        [a.id, b.id].sort(),
      );
      const [r] = await store.requestRevoke([a.id], 'task_ended');
      if (r?.status !== 'claimed') throw new Error('not claimed');
      await store.finish(r.claim, { ok: true });
      expect(await store.taskLeases(input.workload, input.task.id)).toEqual([b.id]);
    });

    test('lists with filters and pages through everything once', async () => {
      const input = newLease();
      const made = await Promise.all(Array.from({ length: 7 }, () => activeLease(store, input)));
      await activeLease(store, { workload: input.workload, target: 'other-target' });
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list(
          { workload: input.workload, target: 'jwt-internal' },
          3,
          cursor,
        );
        seen.push(...page.leases.map((l) => l.id));
        cursor = page.cursor;
      } while (cursor);
      expect(seen.sort()).toEqual(made.map((l) => l.id).sort());
      await expect(store.list({}, 3, 'not-a-cursor')).rejects.toMatchObject({
        code: 'invalid_request',
      });
    });

    test('finished leases disappear after the retention window', async () => {
      const lease = await activeLease(store);
      const [r] = await store.requestRevoke([lease.id], 'operator');
      if (r?.status !== 'claimed') throw new Error('not claimed');
      await store.finish(r.claim, { ok: true });
      expect(await store.get(lease.id)).not.toBeNull();
      await sleep(CONFORMANCE_SETTINGS.retentionMs + 200);
      expect(await store.get(lease.id)).toBeNull();
    });

    test('counts leases by target, provider and state, within a bound it says it reached', async () => {
      const target = `census-${counter}`;
      await activeLease(store, { target });
      await activeLease(store, { target, workload: 'census-other' });
      await store.create(newLease({ target }));
      const all = await store.census(1_000_000);
      expect(all.truncated).toBe(false);
      const mine = all.counts.filter((c) => c.target === target);
      expect(
        mine
          .map(({ provider, state, leases }) => ({ provider, state, leases }))
          .sort((a, b) => a.state.localeCompare(b.state)),
      ).toEqual([
        { provider: 'jwt', state: 'active', leases: 2 },
        { provider: 'jwt', state: 'pending', leases: 1 },
      ]);
      const one = await store.census(1);
      expect(one.truncated).toBe(true);
      expect(one.counts.reduce((n, c) => n + c.leases, 0)).toBeLessThanOrEqual(1);
    });

    test('freezes and unfreezes issuance, keeping who, when and why', async () => {
      expect(await store.isFrozen()).toBeNull();
      const freeze = { by: 'break-glass:oncall', at: await store.now(), reason: 'leaked key' };
      await store.setFrozen(freeze);
      expect(await store.isFrozen()).toEqual(freeze);
      // A second freeze replaces the record: the API answers with the one in force.
      await store.setFrozen({ ...freeze, by: 'alice', reason: 'still investigating' });
      expect(await store.isFrozen()).toEqual({
        ...freeze,
        by: 'alice',
        reason: 'still investigating',
      });
      await store.setFrozen(null);
      expect(await store.isFrozen()).toBeNull();
    });
  });
}
