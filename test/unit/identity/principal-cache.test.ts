import type { JWTPayload } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryReplayGuard } from '../../../src/identity/replay-guard.js';
import { AuthError } from '../../../src/identity/types.js';
import { IdentityVerifier } from '../../../src/identity/verifier.js';
import {
  issuerConfig,
  jwks,
  makeKey,
  rejectionOf,
  signToken,
  TestClock,
  type TestKey,
  TestServer,
  writeJwksFile,
} from '../../helpers/identity-support.js';

const ISS = 'https://idp.example.test';
let k1: TestKey;
let k2: TestKey;
let jwksPath: string;
let clock: TestClock;

beforeAll(async () => {
  k1 = await makeKey('k1');
  k2 = await makeKey('k2');
  jwksPath = writeJwksFile(jwks(k1));
});

beforeEach(() => {
  clock = new TestClock();
});

function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  return {
    iss: ISS,
    aud: 'jit-broker',
    sub: 'agent',
    jti: 'jti-1',
    iat: clock.seconds,
    exp: clock.seconds + 300,
    ...overrides,
  } as JWTPayload;
}

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  const err = await rejectionOf(promise);
  expect(err).toBeInstanceOf(AuthError);
  return (err as unknown as AuthError).reason;
}

function verifier(overrides: Record<string, unknown> = {}, options: Record<string, unknown> = {}) {
  return new IdentityVerifier([issuerConfig({ jwks_file: jwksPath, ...overrides })], [], {
    now: clock.now,
    ...options,
  });
}

describe('verified-principal cache', () => {
  it('answers a reused token from the cache until exp, then verifies again', async () => {
    const v = verifier();
    const token = await signToken(k1, claims({ exp: clock.seconds + 60 }));
    const first = await v.verify(token);
    expect(await v.verify(token)).toBe(first);
    clock.advance(59_000);
    expect(await v.verify(token)).toBe(first);
    clock.advance(1_000);
    // Past exp the cache is not consulted: full verification (within the clock tolerance).
    const again = await v.verify(token);
    expect(again).not.toBe(first);
    clock.advance(30_000);
    expect(await reasonOf(v.verify(token))).toBe('expired');
  });

  it('stops reusing at max_token_age even before exp', async () => {
    const v = verifier({ max_token_age: '2m', clock_tolerance: 0 });
    const token = await signToken(k1, claims());
    const first = await v.verify(token);
    clock.advance(119_000);
    expect(await v.verify(token)).toBe(first);
    clock.advance(2_000);
    expect(await reasonOf(v.verify(token))).toBe('too_old');
  });

  it('is empty in a new verifier (config reload)', async () => {
    const token = await signToken(k1, claims());
    const first = await verifier().verify(token);
    expect(await verifier().verify(token)).not.toBe(first);
  });

  it('is bounded, dropping the least recently used', async () => {
    const v = verifier({}, { principalCacheSize: 2 });
    const tokens = await Promise.all(['a', 'b', 'c'].map((sub) => signToken(k1, claims({ sub }))));
    const [a, b, c] = tokens as [string, string, string];
    const first = await v.verify(a);
    await v.verify(b);
    expect(await v.verify(a)).toBe(first);
    await v.verify(c);
    const bAgain = await v.verify(b);
    expect(await v.verify(b)).toBe(bAgain);
    // Re-inserting b pushed out a, the least recently used.
    expect(await v.verify(a)).not.toBe(first);
  });

  it('can be turned off', async () => {
    const v = verifier({}, { principalCacheSize: 0 });
    const token = await signToken(k1, claims());
    expect(await v.verify(token)).not.toBe(await v.verify(token));
  });
});

describe('cache and the issuer keys', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await new TestServer().start();
  });
  afterEach(async () => {
    await server.stop();
  });

  function remote(overrides: Record<string, unknown> = {}) {
    return new IdentityVerifier(
      [
        issuerConfig({
          issuer: server.origin,
          jwks_uri: `${server.origin}/jwks`,
          allow_insecure_loopback: true,
          ...overrides,
        }),
      ],
      [],
      { now: clock.now },
    );
  }

  it('drops a cached principal once its key is withdrawn', async () => {
    let published = jwks(k1);
    server.json('/jwks', () => published);
    const v = remote();
    const token = await signToken(k1, claims({ iss: server.origin, exp: clock.seconds + 3600 }));
    const first = await v.verify(token);
    published = jwks(k2);
    clock.advance(301_000);
    expect(await reasonOf(v.verify(token))).toBe('unknown_key');
    expect(first.subject).toBe('agent');
  });

  it('keeps cached keys through an outage until their max age, then fails closed', async () => {
    let status = 200;
    server.routes.set('/jwks', (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(jwks(k1)));
    });
    const v = remote({ jwks_max_age: '15m' });
    const cachedToken = await signToken(
      k1,
      claims({ iss: server.origin, exp: clock.seconds + 3600 }),
    );
    await v.verify(cachedToken);
    status = 503;
    clock.advance(899_000);
    const fresh = await signToken(
      k1,
      claims({ iss: server.origin, sub: 'b', exp: clock.seconds + 3600 }),
    );
    await expect(v.verify(fresh)).resolves.toBeDefined();
    await expect(v.verify(cachedToken)).resolves.toBeDefined();
    clock.advance(1_000);
    expect(await reasonOf(v.verify(fresh))).toBe('jwks_unavailable');
    // The cache does not outlive the keys.
    expect(await reasonOf(v.verify(cachedToken))).toBe('jwks_unavailable');
    status = 200;
    clock.advance(30_000);
    await expect(v.verify(cachedToken)).resolves.toBeDefined();
  });
});

describe('one-time jti', () => {
  it('accepts a jti once, also when the principal is cached', async () => {
    const guard = new MemoryReplayGuard(clock.now);
    const v = verifier({ one_time_jti: true }, { replayGuard: guard });
    const token = await signToken(k1, claims());
    await v.verify(token);
    const err = (await rejectionOf(v.verify(token))) as unknown as AuthError;
    expect(err.reason).toBe('replayed');
    expect(err.subject).toBe('agent');
  });

  it('refuses a replay seen by another verifier sharing the guard (another replica, a reload)', async () => {
    const guard = new MemoryReplayGuard(clock.now);
    const token = await signToken(k1, claims());
    await verifier({ one_time_jti: true }, { replayGuard: guard }).verify(token);
    expect(
      await reasonOf(verifier({ one_time_jti: true }, { replayGuard: guard }).verify(token)),
    ).toBe('replayed');
    // A different jti from the same subject is fine.
    await expect(
      verifier({ one_time_jti: true }, { replayGuard: guard }).verify(
        await signToken(k1, claims({ jti: 'jti-2' })),
      ),
    ).resolves.toBeDefined();
  });

  it('requires a jti string on one-time issuers only', async () => {
    const guard = new MemoryReplayGuard(clock.now);
    const v = verifier({ one_time_jti: true }, { replayGuard: guard });
    expect(await reasonOf(v.verify(await signToken(k1, claims({ jti: undefined }))))).toBe(
      'claim_invalid',
    );
    expect(await reasonOf(v.verify(await signToken(k1, claims({ jti: 'x'.repeat(257) }))))).toBe(
      'claim_invalid',
    );
    const plain = verifier();
    const token = await signToken(k1, claims({ jti: undefined }));
    await plain.verify(token);
    await expect(plain.verify(token)).resolves.toBeDefined();
  });

  it('forgets a jti after its token expired (plus tolerance)', async () => {
    const guard = new MemoryReplayGuard(clock.now);
    expect(await guard.claimOnce(ISS, 'j', clock.ms + 1_000)).toBe(true);
    expect(await guard.claimOnce(ISS, 'j', clock.ms + 1_000)).toBe(false);
    expect(await guard.claimOnce('https://other.test', 'j', clock.ms + 1_000)).toBe(true);
    clock.advance(1_000);
    expect(await guard.claimOnce(ISS, 'j', clock.ms + 1_000)).toBe(true);
  });

  it('refuses to build a one-time issuer without a guard', () => {
    expect(() => verifier({ one_time_jti: true })).toThrow(TypeError);
  });
});
