import { generateKeyPairSync } from 'node:crypto';
import { Hono } from 'hono';
import { SignJWT } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import type { BrokerEvent } from '../../../src/events/types.js';
import { honoMcpGuard, type McpGuard } from '../../../src/mcp/index.js';
import { resolveSsfOptions, setReceiver } from '../../../src/mcp/ssf-receiver.js';
import { readSetSigningKey, type SetSigningKey } from '../../../src/ssf/key.js';
import { signSet } from '../../../src/ssf/sign.js';
import { type Signal, signalsOf } from '../../../src/ssf/signals.js';
import { settlesBefore } from '../../helpers/race.js';
import {
  brokerWithKey,
  type FakeBroker,
  ISSUER,
  mcpRequest,
  RESOURCE,
  type SigningKey,
} from './support.js';

const SSF_CONFIGURATION = `${ISSUER}/.well-known/ssf-configuration`;
const SSF_JWKS = `${ISSUER}/.well-known/ssf/jwks.json`;
const PUSH = 'https://mcp.test.example/ssf/events';

const pem = (type: 'ec' | 'ed25519') =>
  (type === 'ec'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('ed25519')
  ).privateKey
    .export({ type: 'pkcs8', format: 'pem' })
    .toString();

let broker: FakeBroker;
let accessKey: SigningKey;
let setKey: SetSigningKey;
let metadataIssuer: string;
let metadataJwksUri: string;
let metadataFetches: number;
let jwksFetches: number;
/** Every URL the guard fetched. */
let fetched: string[];
/** The `redirect` mode of every fetch the guard made. */
let redirects: (string | undefined)[];
let guard: McpGuard;

/** The broker's fetch plus its SSF metadata and SET key. */
const fetchWithSsf: typeof fetch = async (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  fetched.push(url);
  redirects.push(init?.redirect);
  if (url === SSF_CONFIGURATION) {
    metadataFetches++;
    return Response.json({
      spec_version: '1_0',
      issuer: metadataIssuer,
      jwks_uri: metadataJwksUri,
    });
  }
  if (url === SSF_JWKS || url === metadataJwksUri) {
    jwksFetches++;
    return Response.json({ keys: [setKey.publicJwk] });
  }
  return broker.fetch(input, init);
};

function event(type: BrokerEvent['type'], fields: Partial<BrokerEvent> = {}): BrokerEvent {
  return {
    id: 'evt_1',
    time: new Date(broker.clock.ms).toISOString(),
    type,
    outcome: 'success',
    severity: 'high',
    instance: 'i1',
    seq: 1,
    prev: '0'.repeat(64),
    workload: 'agent-a',
    reason: 'test',
    actor: 'alice@example.com',
    ...fields,
  };
}

async function set(signal: Signal, options: { key?: SetSigningKey; aud?: string } = {}) {
  return signSet(
    options.key ?? setKey,
    { issuer: ISSUER, audience: options.aud ?? RESOURCE },
    signal,
    new Date(broker.clock.ms),
  );
}

const push = (token: string, headers: Record<string, string> = {}) =>
  guard.check(
    new Request(PUSH, {
      method: 'POST',
      headers: { 'content-type': 'application/secevent+jwt', ...headers },
      body: token,
    }),
  );

async function answer(outcome: Awaited<ReturnType<McpGuard['check']>>) {
  if (outcome.kind !== 'response') throw new Error('expected a response');
  const text = await outcome.response.text();
  return { status: outcome.response.status, body: text === '' ? undefined : JSON.parse(text) };
}

const leaseSignals = (lease: string) =>
  signalsOf(event('lease.revoked', { lease_id: lease, reason: 'operator' }));

beforeEach(async () => {
  ({ broker, key: accessKey } = await brokerWithKey());
  setKey = readSetSigningKey(pem('ec'));
  metadataIssuer = ISSUER;
  metadataJwksUri = SSF_JWKS;
  metadataFetches = 0;
  jwksFetches = 0;
  fetched = [];
  redirects = [];
  guard = broker.guard({
    fetch: fetchWithSsf,
    revocationCacheTtlMs: 30_000,
    ssf: { issuer: ISSUER },
  });
});

describe('the guard as a Shared Signals receiver', () => {
  it('a session-revoked SET drops the cached answer: the revoked token is refused on the next call', async () => {
    const token = await broker.token(accessKey);
    expect((await guard.check(mcpRequest(token))).kind).toBe('caller');
    broker.revoked.add('lse_test1');
    // Cached for 30 s: without the signal the revoked token still passes.
    expect((await guard.check(mcpRequest(token))).kind).toBe('caller');
    expect(broker.introspections).toBe(1);

    const [sessionRevoked] = leaseSignals('lse_test1');
    const pushed = await answer(await push((await set(sessionRevoked as Signal)).token));
    expect(pushed.status).toBe(202);

    const next = await answer(await guard.check(mcpRequest(token)));
    expect(next.status).toBe(401);
    expect(broker.introspections).toBe(2);
  });

  it('a workload SET drops every answer about that workload, and only that workload', async () => {
    const mine = await broker.token(accessKey);
    const theirs = await new SignJWT({ scope: 'files:read', client_id: 'agent-b' })
      .setProtectedHeader({ alg: 'ES256', kid: accessKey.kid, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(RESOURCE)
      .setSubject('agent-b')
      .setJti('lse_other')
      .setIssuedAt(broker.clock.seconds)
      .setExpirationTime(broker.clock.seconds + 300)
      .sign(accessKey.privateKey);
    await guard.check(mcpRequest(mine));
    await guard.check(mcpRequest(theirs));
    expect(broker.introspections).toBe(2);
    const [signal] = signalsOf(event('workload.revoking'));
    expect((await answer(await push((await set(signal as Signal)).token))).status).toBe(202);
    await guard.check(mcpRequest(theirs));
    expect(broker.introspections).toBe(2);
    await guard.check(mcpRequest(mine));
    expect(broker.introspections).toBe(3);
  });

  it('a task SET drops the answers about that task only', async () => {
    const inTask = await broker.token(accessKey, { task: { id: 't-1', intent: 'mcp' } });
    const otherTask = await broker.token(accessKey, { task: { id: 't-2', intent: 'mcp' } });
    await guard.check(mcpRequest(inTask));
    await guard.check(mcpRequest(otherTask));
    const [signal] = signalsOf(event('task.ended', { task: { id: 't-1', intent: 'mcp' } }));
    expect((await answer(await push((await set(signal as Signal)).token))).status).toBe(202);
    await guard.check(mcpRequest(otherTask));
    expect(broker.introspections).toBe(2);
    await guard.check(mcpRequest(inTask));
    expect(broker.introspections).toBe(3);
  });

  it('a credential-change SET is acted on too', async () => {
    const token = await broker.token(accessKey);
    await guard.check(mcpRequest(token));
    const change = leaseSignals('lse_test1').find((s) => s.kind === 'credential-change');
    expect(change?.payload).toMatchObject({ change_type: 'revoke' });
    expect((await answer(await push((await set(change as Signal)).token))).status).toBe(202);
    await guard.check(mcpRequest(token));
    expect(broker.introspections).toBe(2);
  });

  it('the Hono adapter hands the push, body and all, to the guard', async () => {
    const token = await broker.token(accessKey);
    await guard.check(mcpRequest(token));
    const app = new Hono();
    app.use('*', honoMcpGuard(guard));
    app.post('*', (c) => c.text('not reached', 500));
    const [signal] = leaseSignals('lse_test1');
    const res = await app.request(PUSH, {
      method: 'POST',
      headers: { 'content-type': 'application/secevent+jwt' },
      body: (await set(signal as Signal)).token,
    });
    expect(res.status).toBe(202);
    await guard.check(mcpRequest(token));
    expect(broker.introspections).toBe(2);
  });

  it('an answer being asked for when the SET arrives is not kept', async () => {
    const token = await broker.token(accessKey);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow = broker.guard({
      fetch: fetchWithSsf,
      revocationCacheTtlMs: 30_000,
      ssf: { issuer: ISSUER },
      introspect: async (t) => {
        await gate;
        return broker.introspect(t);
      },
    });
    guard = slow;
    const first = slow.check(mcpRequest(token));
    const [signal] = leaseSignals('lse_test1');
    expect((await answer(await push((await set(signal as Signal)).token))).status).toBe(202);
    release();
    expect((await first).kind).toBe('caller');
    await slow.check(mcpRequest(token));
    expect(broker.introspections).toBe(2);
  });
});

describe('forged or replayed SETs are refused (RFC 8935 errors)', () => {
  const [signal] = [() => leaseSignals('lse_test1')[0] as Signal];

  it('signed with another key: invalid_key', async () => {
    const other = readSetSigningKey(pem('ec'), setKey.kid);
    const refused = await answer(await push((await set(signal(), { key: other })).token));
    expect(refused).toMatchObject({ status: 400, body: { err: 'invalid_key' } });
  });

  it('for another audience: invalid_audience', async () => {
    const refused = await answer(
      await push((await set(signal(), { aud: 'https://other.example' })).token),
    );
    expect(refused).toMatchObject({ status: 400, body: { err: 'invalid_audience' } });
  });

  it('from another issuer: invalid_issuer', async () => {
    const token = await new SignJWT({ events: {}, jti: 'x1' })
      .setProtectedHeader({ alg: 'ES256', kid: setKey.kid, typ: 'secevent+jwt' })
      .setIssuer('https://evil.example')
      .setAudience(RESOURCE)
      .setIssuedAt(broker.clock.seconds)
      .sign(setKey.privateKey);
    const refused = await answer(await push(token));
    expect(refused).toMatchObject({ status: 400, body: { err: 'invalid_issuer' } });
  });

  it('with another typ (an access token pushed as a SET): invalid_request', async () => {
    const token = await new SignJWT({
      events: { 'https://schemas.openid.net/secevent/caep/event-type/session-revoked': {} },
      jit: { workload: 'agent-a' },
    })
      .setProtectedHeader({ alg: 'ES256', kid: setKey.kid, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(RESOURCE)
      .setIssuedAt(broker.clock.seconds)
      .setJti('set_typ')
      .sign(setKey.privateKey);
    const refused = await answer(await push(token));
    expect(refused).toMatchObject({ status: 400, body: { err: 'invalid_request' } });
  });

  it('replayed (same jti): the second push is refused and nothing more is dropped', async () => {
    const { token } = await set(signal());
    expect((await answer(await push(token))).status).toBe(202);
    const access = await broker.token(accessKey);
    await guard.check(mcpRequest(access));
    const replay = await answer(await push(token));
    expect(replay).toMatchObject({ status: 400, body: { err: 'invalid_request' } });
    await guard.check(mcpRequest(access));
    expect(broker.introspections).toBe(1);
  });

  it('the jti memory is bounded (jtiCacheSize): the oldest is forgotten first', async () => {
    guard = broker.guard({ fetch: fetchWithSsf, ssf: { issuer: ISSUER, jtiCacheSize: 1 } });
    const first = (await set(signal())).token;
    const second = (await set(signal())).token;
    expect((await answer(await push(first))).status).toBe(202);
    expect((await answer(await push(second))).status).toBe(202);
    expect((await answer(await push(second))).status).toBe(400);
    // Within the age bound, a forgotten jti passes again: the bound trades that for memory.
    expect((await answer(await push(first))).status).toBe(202);
  });

  it('stale (iat older than maxAgeSeconds): refused', async () => {
    const { token } = await set(signal());
    // 300 s and the 5 s of clock tolerance have passed.
    broker.clock.ms += 306_000;
    const refused = await answer(await push(token));
    expect(refused).toMatchObject({ status: 400, body: { err: 'invalid_request' } });
  });

  it('not application/secevent+jwt: refused', async () => {
    const { token } = await set(signal());
    const refused = await answer(await push(token, { 'content-type': 'application/jwt' }));
    expect(refused).toMatchObject({ status: 400, body: { err: 'invalid_request' } });
  });

  it('without the configured Authorization: authentication_failed', async () => {
    guard = broker.guard({
      fetch: fetchWithSsf,
      ssf: { issuer: ISSUER, authorization: 'Bearer push-secret' },
    });
    const { token } = await set(signal());
    expect(await answer(await push(token))).toMatchObject({
      status: 401,
      body: { err: 'authentication_failed' },
    });
    expect((await answer(await push(token, { authorization: 'Bearer wrong' }))).status).toBe(401);
    expect((await answer(await push(token, { authorization: 'Bearer push-secret' }))).status).toBe(
      202,
    );
  });

  it('metadata naming another issuer: no key is trusted (503, the transmitter retries)', async () => {
    metadataIssuer = 'https://evil.example';
    const { token } = await set(signal());
    expect((await answer(await push(token))).status).toBe(503);
    // The failure is not kept: once the metadata is right (and a second has passed), the SET
    // is taken.
    metadataIssuer = ISSUER;
    broker.clock.ms += 1_000;
    expect((await answer(await push(token))).status).toBe(202);
    expect(metadataFetches).toBe(2);
  });

  it('a push path that is the MCP endpoint is refused when the guard is built', () => {
    expect(() =>
      broker.guard({ ssf: { issuer: ISSUER, path: new URL(RESOURCE).pathname } }),
    ).toThrow(TypeError);
  });

  it('a push to a guard without ssf is not taken as a SET: it needs a bearer token', async () => {
    const { token } = await set(signal());
    const plain = broker.guard({ fetch: fetchWithSsf });
    const outcome = await plain.check(
      new Request(PUSH, {
        method: 'POST',
        headers: { 'content-type': 'application/secevent+jwt', host: 'mcp.test.example' },
        body: token,
      }),
    );
    expect(outcome.kind === 'response' && outcome.response.status).toBe(401);
  });
});

describe('attacks on the push path', () => {
  const SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const claims = () => ({
    iss: ISSUER,
    aud: RESOURCE,
    iat: broker.clock.seconds,
    jti: `set_${Math.random().toString(36).slice(2)}`,
    events: { [SESSION_REVOKED]: {} },
    jit: { workload: 'agent-a' },
  });
  /** A token cached as active at the guard: whether a push dropped it shows on the next call. */
  async function cachedToken() {
    const access = await broker.token(accessKey);
    expect((await guard.check(mcpRequest(access))).kind).toBe('caller');
    return access;
  }
  const dropped = async (access: string) => {
    const before = broker.introspections;
    await guard.check(mcpRequest(access));
    return broker.introspections > before;
  };

  it('alg none, HS256 keyed with the public key, an embedded jwk or a jku: refused, no key fetched from the token', async () => {
    const access = await cachedToken();
    const attacker = readSetSigningKey(pem('ec'), setKey.kid);
    const header = { alg: 'ES256', kid: setKey.kid, typ: 'secevent+jwt' } as const;
    const forged = [
      `${b64({ alg: 'none', typ: 'secevent+jwt' })}.${b64(claims())}.`,
      await new SignJWT(claims())
        .setProtectedHeader({ alg: 'HS256', kid: setKey.kid, typ: 'secevent+jwt' })
        .sign(new TextEncoder().encode(JSON.stringify(setKey.publicJwk))),
      await new SignJWT(claims())
        .setProtectedHeader({ ...header, jwk: attacker.publicJwk })
        .sign(attacker.privateKey),
      await new SignJWT(claims())
        .setProtectedHeader({ ...header, jku: 'https://evil.example/jwks.json' })
        .sign(attacker.privateKey),
      await new SignJWT(claims())
        .setProtectedHeader({ ...header, x5u: 'https://evil.example/cert.pem' })
        .sign(attacker.privateKey),
    ];
    for (const token of forged) {
      const refused = await answer(await push(token));
      expect(refused.status).toBe(400);
      expect(['invalid_key', 'invalid_request']).toContain(refused.body.err);
    }
    expect(fetched.some((url) => url.includes('evil.example'))).toBe(false);
    expect(await dropped(access)).toBe(false);
  });

  it('without jti, without iat, without aud, or issued in the future: refused', async () => {
    const access = await cachedToken();
    const sign = (payload: Record<string, unknown>) =>
      new SignJWT(payload)
        .setProtectedHeader({ alg: 'ES256', kid: setKey.kid, typ: 'secevent+jwt' })
        .sign(setKey.privateKey);
    const { jti: _jti, ...noJti } = claims();
    const { iat: _iat, ...noIat } = claims();
    const { aud: _aud, ...noAud } = claims();
    const future = { ...claims(), iat: broker.clock.seconds + 60 };
    for (const payload of [noJti, noIat, noAud, future]) {
      expect((await answer(await push(await sign(payload)))).status).toBe(400);
    }
    expect(await dropped(access)).toBe(false);
  });

  it('a body that is not a JWT: invalid_request', async () => {
    for (const body of ['', 'not a jwt', '{"events":{}}', 'a.b.c', '\u0000\u00ff']) {
      expect(await answer(await push(body))).toMatchObject({
        status: 400,
        body: { err: 'invalid_request' },
      });
    }
  });

  it('a chunked body past 16 KiB that never ends is refused without waiting for its end', async () => {
    const endless = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(16_385).fill(0x61));
        // Never closed: a reader that waits for the end waits forever.
      },
    });
    const outcome = guard.check(
      new Request(PUSH, {
        method: 'POST',
        headers: { 'content-type': 'application/secevent+jwt' },
        body: endless,
        duplex: 'half',
      } as RequestInit),
    );
    expect(await settlesBefore(outcome, 2_000)).toBe(true);
    expect(await answer(await outcome)).toMatchObject({
      status: 400,
      body: { err: 'invalid_request', description: 'the SET is too large' },
    });
  });

  it('unknown event types are ignored beside a known one, and refused alone', async () => {
    const access = await cachedToken();
    const sign = (events: Record<string, unknown>) =>
      new SignJWT({ ...claims(), events })
        .setProtectedHeader({ alg: 'ES256', kid: setKey.kid, typ: 'secevent+jwt' })
        .sign(setKey.privateKey);
    const unknown = 'https://schemas.example/event-type/flush-everything';
    expect((await answer(await push(await sign({ [unknown]: {} })))).status).toBe(400);
    expect(await dropped(access)).toBe(false);
    const both = await sign({ [unknown]: {}, [SESSION_REVOKED]: {} });
    expect((await answer(await push(both))).status).toBe(202);
    expect(await dropped(access)).toBe(true);
  });

  it('a SET naming another workload drops nothing of this one', async () => {
    const access = await cachedToken();
    const [other] = signalsOf(event('workload.revoking', { workload: 'agent-z' }));
    expect((await answer(await push((await set(other as Signal)).token))).status).toBe(202);
    expect(await dropped(access)).toBe(false);
  });

  it('unknown kids do not fetch the JWKS once per push (fetches are cooled down)', async () => {
    const { token } = await set(leaseSignals('lse_warm')[0] as Signal);
    expect((await answer(await push(token))).status).toBe(202);
    const before = jwksFetches;
    for (let i = 0; i < 20; i++) {
      const stranger = readSetSigningKey(pem('ec'), `kid-${i}`);
      const forged = await set(leaseSignals('lse_x')[0] as Signal, { key: stranger });
      expect((await answer(await push(forged.token))).status).toBe(400);
    }
    expect(jwksFetches - before).toBeLessThanOrEqual(1);
  });

  it('neither the metadata nor the key set is fetched following a redirect', async () => {
    const { token } = await set(leaseSignals('lse_redirect')[0] as Signal);
    expect((await answer(await push(token))).status).toBe(202);
    expect(metadataFetches).toBe(1);
    expect(jwksFetches).toBe(1);
    expect(redirects.length).toBeGreaterThanOrEqual(2);
    for (const mode of redirects.slice(0, 2)) expect(['error', 'manual']).toContain(mode);
  });

  it('a failed discovery is not asked again for every push', async () => {
    metadataIssuer = 'https://evil.example';
    const { token } = await set(leaseSignals('lse_cool')[0] as Signal);
    for (let i = 0; i < 10; i++) expect((await answer(await push(token))).status).toBe(503);
    expect(metadataFetches).toBe(1);
  });

  it('metadata whose jwks_uri is plain http for an https issuer: no key is trusted', async () => {
    metadataJwksUri = 'http://broker.test.example/.well-known/ssf/jwks.json';
    const { token } = await set(leaseSignals('lse_http')[0] as Signal);
    expect((await answer(await push(token))).status).toBe(503);
    expect(jwksFetches).toBe(0);
  });

  it('a transmitter metadata endpoint that never answers: 503 once the discovery times out', async () => {
    const hanging: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    const receiver = setReceiver(
      resolveSsfOptions({ issuer: ISSUER }, new URL(RESOURCE)),
      { fetch: hanging, now: broker.clock.now, clockToleranceSeconds: 5, discoveryTimeoutMs: 50 },
      () => undefined,
    );
    const { token } = await set(leaseSignals('lse_hang')[0] as Signal);
    const response = receiver.receive(
      new Request(PUSH, {
        method: 'POST',
        headers: { 'content-type': 'application/secevent+jwt' },
        body: token,
      }),
    );
    expect(await settlesBefore(response, 2_000)).toBe(true);
    expect((await response).status).toBe(503);
  });

  it('metadata larger than 16 KiB is not read to its end: 503', async () => {
    const endless: typeof fetch = async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            controller.enqueue(new TextEncoder().encode(' '.repeat(4_096)));
          },
        }),
        { headers: { 'content-type': 'application/json' } },
      );
    const receiver = setReceiver(
      resolveSsfOptions({ issuer: ISSUER }, new URL(RESOURCE)),
      {
        fetch: endless,
        now: broker.clock.now,
        clockToleranceSeconds: 5,
        discoveryTimeoutMs: 60_000,
      },
      () => undefined,
    );
    const { token } = await set(leaseSignals('lse_huge')[0] as Signal);
    const response = receiver.receive(
      new Request(PUSH, {
        method: 'POST',
        headers: { 'content-type': 'application/secevent+jwt' },
        body: token,
      }),
    );
    expect(await settlesBefore(response, 5_000)).toBe(true);
    expect((await response).status).toBe(503);
  });

  it('an empty push authorization is refused when the guard is built', () => {
    expect(() =>
      resolveSsfOptions({ issuer: ISSUER, authorization: '' }, new URL(RESOURCE)),
    ).toThrow(/authorization/);
  });
});
