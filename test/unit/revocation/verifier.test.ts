import { describe, expect, it } from 'vitest';
import { type Provider, ProviderError } from '../../../providers/provider.js';
import type { EventInput } from '../../../src/events/types.js';
import type { Lease, RevokeReason } from '../../../src/leases/types.js';
import { Metrics } from '../../../src/metrics.js';
import { revocationSchema } from '../../../src/revocation/config.js';
import { RevocationVerifier } from '../../../src/revocation/verifier.js';
import { silentLogger, stubLease, stubProvider } from '../../helpers/stub-lease.js';

const lease = (overrides: Partial<Lease> = {}) => stubLease({ state: 'revoked', ...overrides });
const provider = (extra: Partial<Provider> = {}) =>
  stubProvider({ revokeConcurrency: 4, ...extra });

function setup(config: Record<string, unknown> = {}, stored: Lease | null = null) {
  const events: EventInput[] = [];
  const metrics = new Metrics();
  const verifier = new RevocationVerifier({
    config: () => revocationSchema.parse(config),
    store: { get: async () => stored, now: async () => Date.now() },
    events: {
      emit: async (event) => {
        events.push(event);
      },
    },
    metrics,
    logger: silentLogger(),
  });
  const run = async (
    l: Lease,
    p: Provider | undefined,
    reason: RevokeReason = 'workload_revoked',
    handle: Record<string, unknown> = {},
  ) => {
    verifier.schedule(l, p, handle, reason);
    await verifier.idle();
  };
  return { events, metrics, verifier, run };
}

const gone = provider({ verifyRevoked: async () => ({ gone: true, evidence: 'account absent' }) });

describe('RevocationVerifier', () => {
  it('verifies a kill switch by default and nothing else', async () => {
    const { events, run } = setup();
    await run(lease(), gone, 'operator');
    await run(lease(), gone, 'expired');
    expect(events).toHaveLength(0);
    await run(lease(), gone, 'workload_revoked');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'revocation.verified',
      severity: 'info',
      outcome: 'success',
      reason: 'workload_revoked',
      target: 't1',
      detail: { verification: 'verified', evidence: 'account absent' },
    });
  });

  it('verifies every revocation with verify: all', async () => {
    const { events, run } = setup({ verify: 'all' });
    await run(lease(), gone, 'operator');
    await run(lease(), gone, 'expired');
    expect(events.map((e) => e.type)).toEqual(['revocation.verified', 'revocation.verified']);
  });

  it('a credential the target still holds is unverified, high, with the evidence and the metric', async () => {
    const { events, metrics, run } = setup();
    const kept = provider({
      verifyRevoked: async () => ({ gone: false, evidence: 'user present on 1 of 1 node' }),
    });
    await run(lease(), kept);
    expect(events[0]).toMatchObject({
      type: 'revocation.unverified',
      severity: 'high',
      outcome: 'failure',
      detail: { verification: 'unverified', evidence: 'user present on 1 of 1 node' },
    });
    const counted = await metrics.revocationVerifications.get();
    expect(counted.values).toContainEqual(
      expect.objectContaining({ labels: { target: 't1', status: 'unverified' }, value: 1 }),
    );
  });

  it('a target without the capability is unverifiable, never verified', async () => {
    const { events, run } = setup();
    await run(lease(), provider());
    expect(events[0]).toMatchObject({ type: 'revocation.unverifiable', severity: 'low' });
    await run(lease(), undefined);
    expect(events[1]).toMatchObject({
      type: 'revocation.unverifiable',
      detail: { evidence: 'the target is no longer configured' },
    });
  });

  it('a check that fails or hangs past verify_timeout is unverified', async () => {
    const { events, run } = setup({ verify_timeout: '100ms' });
    const failing = provider({
      verifyRevoked: async () => {
        throw new ProviderError('provider_unavailable', 'connection refused', true);
      },
    });
    await run(lease(), failing);
    expect(events[0]).toMatchObject({
      type: 'revocation.unverified',
      detail: { evidence: expect.stringMatching(/the check failed: .*connection refused/) },
    });
    const hanging = provider({ verifyRevoked: () => new Promise(() => {}) });
    await run(lease(), hanging);
    expect(events[1]).toMatchObject({
      type: 'revocation.unverified',
      detail: { evidence: expect.stringMatching(/the check failed: .*no answer within 100 ms/) },
    });
  });

  it('an answer that is not a proof (a provider module returning something else) is unverified, never verified or silent', async () => {
    const { events, run } = setup();
    const answers: unknown[] = [
      { gone: 'yes', evidence: 'truthy but not true' },
      { gone: 1, evidence: 'truthy but not true' },
      { gone: true },
      { gone: true, evidence: 42 },
      null,
      undefined,
      'gone',
    ];
    for (const answer of answers) {
      await run(lease(), provider({ verifyRevoked: async () => answer as never }));
    }
    expect(events).toHaveLength(answers.length);
    for (const event of events) {
      expect(event).toMatchObject({ type: 'revocation.unverified', severity: 'high' });
    }
  });

  it('a lease-state target is verified from the lease, as introspection reads it', async () => {
    const jwt = provider({ revocationIsLeaseState: true });
    const revoked = lease({ state: 'revoked' });
    const done = setup({}, revoked);
    await done.run(revoked, jwt);
    expect(done.events[0]).toMatchObject({
      type: 'revocation.verified',
      detail: { evidence: 'lease is revoked: introspection answers inactive' },
    });
    const live = lease({ state: 'active' });
    const still = setup({}, live);
    await still.run(live, jwt);
    expect(still.events[0]).toMatchObject({ type: 'revocation.unverified' });
  });

  it('checks at most verify_concurrency at once per target, and past verify_queue reports unverified', async () => {
    const { events, verifier } = setup({ verify_concurrency: 2, verify_queue: 3 });
    let running = 0;
    let most = 0;
    const releases: (() => void)[] = [];
    const slow = provider({
      verifyRevoked: async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise<void>((r) => releases.push(r));
        running -= 1;
        return { gone: true, evidence: 'gone' };
      },
    });
    for (let i = 0; i < 5; i++) verifier.schedule(lease(), slow, {}, 'workload_revoked');
    // Let the queue fill, then release the checks one by one as they start.
    const drain = (async () => {
      while (events.length < 5) {
        releases.shift()?.();
        await new Promise((r) => setImmediate(r));
      }
    })();
    await verifier.idle();
    await drain;
    expect(most).toBe(2);
    const notChecked = events.filter((e) => /not checked/.test(String(e.detail?.evidence)));
    expect(notChecked).toHaveLength(2);
    expect(events.filter((e) => e.type === 'revocation.verified')).toHaveLength(3);
  });
});
