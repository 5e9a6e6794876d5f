import { describe, expect, it } from 'vitest';
import type { Provider } from '../../../providers/provider.js';
import type { LeaseStore } from '../../../src/leases/types.js';
import { createReadiness } from '../../../src/wiring/readiness.js';

function countingTarget(name: string, answer: () => Promise<{ ok: boolean; detail?: string }>) {
  let calls = 0;
  const provider = {
    target: name,
    check: () => {
      calls += 1;
      return answer();
    },
  } as unknown as Provider;
  return { provider, calls: () => calls };
}

describe('readiness', () => {
  it("asks each target at most once per interval, however many callers ask (a flood is not GitHub's)", async () => {
    let now = 0;
    const target = countingTarget('github-acme', async () => ({ ok: true, detail: 'app 1' }));
    let pings = 0;
    const store = {
      ping: async () => {
        pings += 1;
      },
    } as unknown as LeaseStore;
    const readiness = createReadiness({
      store,
      providers: () => new Map([['github-acme', target.provider]]),
      targetCacheMs: 10_000,
      now: () => now,
    });
    const reports = await Promise.all(Array.from({ length: 100 }, () => readiness.report()));
    expect(target.calls()).toBe(1);
    expect(reports[99]?.checks['target:github-acme']).toEqual({ ok: true, detail: 'app 1' });
    now = 9_999;
    await readiness.report();
    expect(target.calls()).toBe(1);
    now = 10_000;
    await readiness.report();
    expect(target.calls()).toBe(2);
    // The store is asked by every call that finds no PING in flight: the 100 concurrent
    // callers shared one, each later call sent its own (an outage shows at once).
    expect(pings).toBe(3);
  });

  it('is ready on the lease store alone; a failing target is reported, not fatal', async () => {
    const failing = countingTarget('pg-app', async () => {
      throw new Error('Access denied for user jit_admin');
    });
    const ok = createReadiness({
      store: { ping: async () => {} } as unknown as LeaseStore,
      providers: () => new Map([['pg-app', failing.provider]]),
    });
    expect(await ok.ready()).toBe(true);
    const report = await ok.report();
    expect(report.ok).toBe(true);
    expect(report.checks['target:pg-app']).toMatchObject({ ok: false });
    const down = createReadiness({
      store: {
        ping: async () => {
          throw new Error('connection refused');
        },
      } as unknown as LeaseStore,
      providers: () => new Map(),
    });
    expect(await down.ready()).toBe(false);
    expect((await down.report()).checks.lease_store).toMatchObject({ ok: false });
  });

  it("a reload's new target is checked afresh", async () => {
    const first = countingTarget('t', async () => ({ ok: true }));
    const second = countingTarget('t', async () => ({ ok: false, detail: 'new key refused' }));
    let providers = new Map([['t', first.provider]]);
    const readiness = createReadiness({
      store: { ping: async () => {} } as unknown as LeaseStore,
      providers: () => providers,
      now: () => 0,
    });
    await readiness.report();
    providers = new Map([['t', second.provider]]);
    expect((await readiness.report()).checks['target:t']).toEqual({
      ok: false,
      detail: 'new key refused',
    });
  });
});
