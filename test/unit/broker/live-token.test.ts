import { describe, expect, it } from 'vitest';
import type { Provider } from '../../../providers/provider.js';
import { brokerTokenLiveness, liveUntil } from '../../../src/broker/live-token.js';
import { Rejection } from '../../../src/identity/rejection.js';
import type { VerifiedIdentity } from '../../../src/identity/types.js';
import { MemoryLeaseStore } from '../../../src/leases/memory-store.js';
import { CONFORMANCE_SETTINGS } from '../../helpers/lease-store-conformance.js';

const BROKER = 'https://broker.test.example';
const T0 = 1_800_000_000_000;

async function activeLease(store: MemoryLeaseStore, target = 'tickets', ttlMs = 60_000) {
  const lease = await store.create({
    workload: 'agent-a',
    subject: 'spiffe://test/agent-a',
    issuer: 'test',
    target,
    provider: 'jwt',
    scope: {},
    task: { id: 't1', intent: 'triage' },
    policy: 'p',
    policyHash: 'h',
    ttlMs,
    maxTtlMs: ttlMs,
    maxLive: 10,
  });
  const activated = await store.activate(lease, 'sealed');
  if (activated.outcome !== 'active') throw new Error('lease not active');
  return activated.lease;
}

function clockedStore() {
  let now = T0;
  const store = new MemoryLeaseStore(CONFORMANCE_SETTINGS, () => now);
  return { store, advance: (ms: number) => (now += ms) };
}

describe('liveUntil: the lease rule shared by introspection and identities', () => {
  it('is the earlier of the token’s exp and the lease’s expiry while the lease is active', async () => {
    const { store } = clockedStore();
    const lease = await activeLease(store);
    const exp = Math.floor((T0 + 30_000) / 1000);
    expect(await liveUntil(store, 'tickets', { jti: lease.id, exp })).toBe(exp * 1000);
    expect(await liveUntil(store, 'tickets', { jti: lease.id, exp: exp + 3600 })).toBe(
      lease.expiresAt,
    );
  });

  it('is undefined for a lease of another target, an unknown or missing jti', async () => {
    const { store } = clockedStore();
    const lease = await activeLease(store);
    expect(await liveUntil(store, 'other', { jti: lease.id })).toBeUndefined();
    expect(await liveUntil(store, 'tickets', { jti: 'lse_unknown' })).toBeUndefined();
    expect(await liveUntil(store, 'tickets', {})).toBeUndefined();
  });

  it('is undefined once the lease is revoked, or past the token’s exp or the lease’s expiry', async () => {
    const { store, advance } = clockedStore();
    const lease = await activeLease(store);
    const exp = Math.floor((T0 + 30_000) / 1000);
    advance(30_000);
    expect(await liveUntil(store, 'tickets', { jti: lease.id, exp })).toBeUndefined();
    expect(await liveUntil(store, 'tickets', { jti: lease.id })).toBe(lease.expiresAt);
    advance(30_000);
    expect(await liveUntil(store, 'tickets', { jti: lease.id })).toBeUndefined();

    const { store: other } = clockedStore();
    const revoked = await activeLease(other);
    await other.requestRevoke([revoked.id], 'operator');
    expect(await liveUntil(other, 'tickets', { jti: revoked.id })).toBeUndefined();
  });
});

describe('brokerTokenLiveness', () => {
  const identity = (iss: string): VerifiedIdentity => ({
    issuer: 'callers',
    iss,
    subject: 'agent-a',
    claims: {},
    tokenHash: 'h',
    expiresAt: T0 + 60_000,
  });
  const verifying = (target: string, payload: Record<string, unknown> | null) =>
    ({
      target,
      introspection: { resourceServers: [], verify: async () => payload },
    }) as unknown as Provider;

  it('leaves tokens of other issuers alone', async () => {
    const { store } = clockedStore();
    const check = brokerTokenLiveness({ issuer: BROKER, providers: new Map(), store });
    await expect(check('t', identity('https://idp.example'))).resolves.toBeUndefined();
  });

  it('accepts a broker token only while a target verifies it and its lease is live', async () => {
    const { store } = clockedStore();
    const lease = await activeLease(store);
    const providers = new Map([
      ['none', verifying('none', null)],
      ['tickets', verifying('tickets', { jti: lease.id })],
    ]);
    const check = brokerTokenLiveness({ issuer: BROKER, providers, store });
    await expect(check('t', identity(BROKER))).resolves.toBeUndefined();
    await store.requestRevoke([lease.id], 'operator');
    const refused = await check('t', identity(BROKER)).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(Rejection);
    expect((refused as Rejection).reason).toBe('revoked');
  });

  it('refuses a token with the broker’s iss that no target verifies', async () => {
    const { store } = clockedStore();
    const providers = new Map([['none', verifying('none', null)]]);
    const check = brokerTokenLiveness({ issuer: BROKER, providers, store });
    await expect(check('t', identity(BROKER))).rejects.toMatchObject({ reason: 'revoked' });
  });
});
