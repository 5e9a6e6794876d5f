import { generateKeyPairSync } from 'node:crypto';
import { Redis } from 'ioredis';
import type { JSONWebKeySet } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { alive, held } from '../fixtures/slow-provider.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import {
  eventually,
  expectNoSecretOutput,
  requestTicketsRead,
  revokeLease,
  revokeWorkload,
} from '../helpers/lease-http.js';
import { settlesBefore } from '../helpers/race.js';
import {
  deletePrefix,
  REDIS_URL,
  redisAvailable,
  requireService,
  uniquePrefix,
} from '../helpers/services.js';
import { addSlowTarget } from '../helpers/slow-target.js';
import { type SsfTestReceiver, startSsfReceiver } from '../helpers/ssf-receiver.js';

const ISSUER = 'https://broker.test.example';
const AUDIENCE = 'https://receiver.test.example/caep';
const PUSH_AUTHORIZATION = `Bearer ${'push-secret-'.repeat(3)}`;
const SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
const CREDENTIAL_CHANGE = 'https://schemas.openid.net/secevent/caep/event-type/credential-change';

const setKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

// Fails under CI without Redis: the queue under test lives there.
const redisUp = await requireService('redis', await redisAvailable());

let redis: Redis;
const prefixes: string[] = [];
const open: Harness[] = [];
let receiver: SsfTestReceiver;
let keysFrom: Harness | undefined;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  for (const prefix of prefixes) await deletePrefix(redis, `${prefix}:`);
  redis.disconnect();
});
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
  await receiver?.close();
});

async function newReceiver(): Promise<SsfTestReceiver> {
  receiver = await startSsfReceiver({
    issuer: ISSUER,
    audience: AUDIENCE,
    // The broker's published SET key, as a receiver reads it from `jwks_uri`.
    keys: async () => {
      const res = await keysFrom?.request('/.well-known/ssf/jwks.json');
      return (await res?.json()) as JSONWebKeySet;
    },
  });
  return receiver;
}

/** A broker on the Redis store with one SSF receiver; `prefix` shared to act as a replica. */
async function broker(
  prefix: string,
  delivery: Record<string, unknown> = {},
  slowTarget = false,
): Promise<Harness> {
  const h = await startHarness({
    store: 'redis',
    allowProviderModules: slowTarget,
    configure(raw) {
      (raw.redis as Record<string, unknown>).key_prefix = prefix;
      if (slowTarget) {
        addSlowTarget(raw, ['agent-a'], 0);
        // Well past the wait below: the kill switch answers only once the provider is done.
        raw.leases = { ...(raw.leases as object | undefined), kill_switch_deadline: '60s' };
      }
      raw.ssf = {
        signing_key: { kid: 'set-1', private_key: setKeyPem },
        receivers: [
          {
            name: 'siem',
            url: receiver.url,
            audience: AUDIENCE,
            authorization: PUSH_AUTHORIZATION,
            allow_insecure_loopback: true,
          },
        ],
        delivery: { backoff_base: '50ms', backoff_max: '200ms', ...delivery },
      };
    },
  });
  open.push(h);
  keysFrom = h;
  return h;
}

function newPrefix(): string {
  const prefix = uniquePrefix('ssf');
  prefixes.push(prefix);
  return prefix;
}

const queueDepth = (prefix: string) => redis.zcard(`${prefix}:{ssf}:age`);

async function metric(h: Harness, name: string): Promise<string> {
  return (await h.broker.metrics.registry.getSingleMetricAsString(name)) ?? '';
}

describe.runIf(redisUp)('Shared Signals transmitter (Redis queue)', () => {
  it('a receiver that checks signature and aud gets session-revoked within a second of a kill switch', async () => {
    await newReceiver();
    const h = await broker(newPrefix());
    const agent = await h.workloadToken('spiffe://test/agent-a');
    expect((await requestTicketsRead(h, agent, { id: 'ks-1', intent: 'triage' })).status).toBe(201);

    const arrival = receiver.next(
      (s) => SESSION_REVOKED in s.claims.events && s.claims.jit.lease_id === undefined,
    );
    await revokeWorkload(h, 'agent-a');
    expect(await settlesBefore(arrival, 1_000)).toBe(true);
    const set = await arrival;

    expect(set.header).toMatchObject({ typ: 'secevent+jwt', kid: 'set-1', alg: 'ES256' });
    expect(set.claims).toMatchObject({
      iss: ISSUER,
      aud: AUDIENCE,
      sub_id: { format: 'complex', application: { format: 'opaque', id: 'agent-a' } },
      jit: { workload: 'agent-a' },
    });
    expect(typeof set.claims.jti).toBe('string');
    expect(typeof set.claims.iat).toBe('number');
    const event = set.claims.events[SESSION_REVOKED];
    expect(event).toMatchObject({ initiating_entity: 'admin' });
    // `txn` is the broker event that caused it.
    const killed = (await h.flushedEvents()).find((e) => e.type === 'workload.revoking');
    expect(set.claims.txn).toBe(killed?.id);
    expect(set.authorization).toBe(PUSH_AUTHORIZATION);
    // The kill switch's own lease revocation sends nothing of its own: one SET per workload.
    expect(receiver.received.filter((s) => s.claims.jit.lease_id !== undefined)).toEqual([]);
    expect(receiver.refused).toEqual([]);
  });

  it('a kill switch tells the holders at its start, while a provider revocation is still going', async () => {
    await newReceiver();
    let release = () => {};
    held.until = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      const h = await broker(newPrefix(), {}, true);
      const agent = await h.workloadToken('spiffe://test/agent-a');
      const res = await h.request('/v1/credentials', {
        method: 'POST',
        token: agent,
        json: { target: 'slow', scope: { name: 'x' }, task: { id: 'ks-slow', intent: 'triage' } },
      });
      expect(res.status).toBe(201);
      const { lease_id: leaseId } = (await res.json()) as { lease_id: string };

      const arrival = receiver.next(
        (s) => SESSION_REVOKED in s.claims.events && s.claims.jit.lease_id === undefined,
      );
      const kill = revokeWorkload(h, 'agent-a');
      // The provider's revocation is held open: the SET can only arrive before it ends.
      expect(await settlesBefore(arrival, 5_000)).toBe(true);
      expect(alive.has(leaseId)).toBe(true);
      expect(await settlesBefore(kill, 0)).toBe(false);
      const started = (await h.flushedEvents()).find((e) => e.type === 'workload.revoking');
      expect((await arrival).claims.txn).toBe(started?.id);

      release();
      expect(await kill).toMatchObject({ revoked: 1, failed: 0 });
      expect(alive.has(leaseId)).toBe(false);
    } finally {
      release();
      held.until = Promise.resolve();
    }
  });

  it('a lease revocation sends session-revoked and credential-change for the lease; no secret in any SET', async () => {
    await newReceiver();
    const h = await broker(newPrefix());
    const agent = await h.workloadToken('spiffe://test/agent-a');
    const res = await requestTicketsRead(h, agent, { id: 'lease-1', intent: 'triage' });
    const issued = (await res.json()) as { lease_id: string; credential: { token: string } };
    await revokeLease(h, agent, issued.lease_id);

    const forLease = (uri: string) =>
      receiver.next((s) => uri in s.claims.events && s.claims.jit.lease_id === issued.lease_id);
    const [revoked, changed] = await Promise.all([
      forLease(SESSION_REVOKED),
      forLease(CREDENTIAL_CHANGE),
    ]);
    expect(revoked.claims.sub_id).toEqual({
      format: 'complex',
      application: { format: 'opaque', id: 'agent-a' },
      session: { format: 'opaque', id: issued.lease_id },
    });
    expect(changed.claims.events[CREDENTIAL_CHANGE]).toMatchObject({
      change_type: 'revoke',
      credential_type: 'jit-lease',
      initiating_entity: 'policy',
    });
    expect(changed.claims.jit).toEqual({
      workload: 'agent-a',
      lease_id: issued.lease_id,
      task_id: 'lease-1',
    });
    for (const set of receiver.received) {
      expect(set.raw.includes(issued.credential.token)).toBe(false);
      const decoded = JSON.stringify(set.claims) + JSON.stringify(set.header);
      expect(decoded.includes(issued.credential.token)).toBe(false);
      expect(decoded.includes(PUSH_AUTHORIZATION)).toBe(false);
    }
    expectNoSecretOutput(h, [issued.credential.token, PUSH_AUTHORIZATION]);
  });

  it('retries while the receiver is down, then delivers once and the queue drains', async () => {
    await newReceiver();
    receiver.down = true;
    const prefix = newPrefix();
    const h = await broker(prefix);
    await revokeWorkload(h, 'agent-b');
    expect(await eventually(async () => receiver.unavailable >= 2)).toBe(true);
    expect(receiver.received).toEqual([]);
    expect(await queueDepth(prefix)).toBe(1);

    receiver.down = false;
    await receiver.next((s) => s.claims.jit.workload === 'agent-b');
    expect(await eventually(async () => (await queueDepth(prefix)) === 0)).toBe(true);
    expect(
      await eventually(
        async () => (await metric(h, 'jit_ssf_delivery_retries_total')).includes('siem'),
        1_000,
      ),
    ).toBe(true);
    expect(receiver.received.filter((s) => s.claims.jit.workload === 'agent-b')).toHaveLength(1);
    expect(await metric(h, 'jit_ssf_sets_delivered_total')).toMatch(/receiver="siem"} 1\b/);
  });

  it('gives up after max_attempts with a high-severity ssf.delivery_failed event', async () => {
    await newReceiver();
    receiver.down = true;
    const h = await broker(newPrefix(), { max_attempts: 2 });
    await revokeWorkload(h, 'agent-b');
    expect(
      await eventually(async () =>
        (await h.flushedEvents()).some((e) => e.type === 'ssf.delivery_failed'),
      ),
    ).toBe(true);
    const failed = (await h.flushedEvents()).find((e) => e.type === 'ssf.delivery_failed');
    expect(failed).toMatchObject({
      severity: 'high',
      outcome: 'failure',
      workload: 'agent-b',
      reason: 'attempts_exhausted',
      detail: { receiver: 'siem', event: 'session-revoked', attempts: 2, error: 'http 503' },
    });
    expect(receiver.unavailable).toBe(2);
    expect(await metric(h, 'jit_ssf_sets_failed_total')).toMatch(/reason="attempts_exhausted"/);
  });

  it('a SET queued by a replica that stopped is delivered by the next one (the queue is in Redis)', async () => {
    await newReceiver();
    receiver.down = true;
    const prefix = newPrefix();
    const first = await broker(prefix);
    await revokeWorkload(first, 'agent-b');
    expect(await eventually(async () => receiver.unavailable >= 1)).toBe(true);
    const killed = (await first.flushedEvents()).find((e) => e.type === 'workload.revoking');
    await first.close();
    open.splice(open.indexOf(first), 1);
    expect(await queueDepth(prefix)).toBe(1);

    receiver.down = false;
    // The next replica comes up and finds the SET once its backoff has passed.
    await broker(prefix);
    const set = await receiver.next((s) => s.claims.txn === killed?.id);
    expect(set.claims.jit.workload).toBe('agent-b');
    expect(await eventually(async () => (await queueDepth(prefix)) === 0)).toBe(true);
  });

  it('the queue is bounded: past max_queue the oldest SET is dropped and reported', async () => {
    await newReceiver();
    receiver.down = true;
    const h = await broker(newPrefix(), { max_queue: 1, backoff_base: '10s', backoff_max: '10s' });
    await revokeWorkload(h, 'agent-a');
    await revokeWorkload(h, 'agent-b');
    expect(
      await eventually(async () =>
        (await h.flushedEvents()).some(
          (e) => e.type === 'ssf.delivery_failed' && e.reason === 'queue_full',
        ),
      ),
    ).toBe(true);
    const dropped = (await h.flushedEvents()).find((e) => e.reason === 'queue_full');
    expect(dropped).toMatchObject({ severity: 'high', workload: 'agent-a' });
    expect(await metric(h, 'jit_ssf_sets_dropped_total')).toMatch(/receiver="siem"} 1\b/);
    expect(h.logs.text).toContain('was not delivered');
  });

  it('serves the SSF 1.0 transmitter metadata and the SET key', async () => {
    await newReceiver();
    const h = await broker(newPrefix());
    const res = await h.request('/.well-known/ssf-configuration');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      spec_version: '1_0',
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/.well-known/ssf/jwks.json`,
      delivery_methods_supported: ['urn:ietf:rfc:8935'],
      critical_subject_members: ['application'],
    });
    const keys = (await (await h.request('/.well-known/ssf/jwks.json')).json()) as JSONWebKeySet;
    expect(keys.keys).toHaveLength(1);
    expect(keys.keys[0]).toMatchObject({ kid: 'set-1', alg: 'ES256', kty: 'EC', use: 'sig' });
    expect(keys.keys[0]?.d).toBeUndefined();
    // The SET key is not an access-token key: no verifier of the broker's tokens trusts it.
    const tokenKeys = (await (await h.request('/.well-known/jwks.json')).json()) as JSONWebKeySet;
    expect(tokenKeys.keys.map((k) => k.kid)).not.toContain('set-1');
  });
});

describe('without ssf:', () => {
  it('the transmitter routes answer 404', async () => {
    const h = await startHarness();
    open.push(h);
    expect((await h.request('/.well-known/ssf-configuration')).status).toBe(404);
    expect((await h.request('/.well-known/ssf/jwks.json')).status).toBe(404);
  });
});
