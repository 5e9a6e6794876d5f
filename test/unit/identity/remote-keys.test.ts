import type { JWTPayload } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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
} from '../../helpers/identity-support.js';

let k1: TestKey;
let k2: TestKey;
let server: TestServer;
let elsewhere: TestServer;
let clock: TestClock;

beforeAll(async () => {
  k1 = await makeKey('k1');
  k2 = await makeKey('k2');
});

beforeEach(async () => {
  clock = new TestClock();
  server = await new TestServer().start();
  elsewhere = await new TestServer().start();
});

afterEach(async () => {
  await server.stop();
  await elsewhere.stop();
});

function claims(iss: string, overrides: JWTPayload = {}): JWTPayload {
  return {
    iss,
    aud: 'jit-broker',
    sub: 'repo:acme/app:ref:refs/heads/main',
    iat: clock.seconds,
    exp: clock.seconds + 3600,
    ...overrides,
  };
}

function viaJwksUri(path = '/jwks'): IdentityVerifier {
  return new IdentityVerifier(
    [
      issuerConfig({
        issuer: server.origin,
        jwks_uri: `${server.origin}${path}`,
        allow_insecure_loopback: true,
      }),
    ],
    [],
    { now: clock.now },
  );
}

function viaDiscovery(issuer = server.origin): IdentityVerifier {
  return new IdentityVerifier(
    [issuerConfig({ issuer, discovery: true, allow_insecure_loopback: true })],
    [],
    { now: clock.now },
  );
}

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  const err = await rejectionOf(promise);
  expect(err).toBeInstanceOf(AuthError);
  return (err as unknown as AuthError).reason;
}

describe('keys from jwks_uri', () => {
  it('verifies and caches the key set', async () => {
    server.json('/jwks', () => jwks(k1));
    const verifier = viaJwksUri();
    await verifier.verify(await signToken(k1, claims(server.origin)));
    await verifier.verify(await signToken(k1, claims(server.origin, { sub: 'other' })));
    expect(server.hitCount('/jwks')).toBe(1);
  });

  it('refetches on an unknown kid at most once per cooldown', async () => {
    server.json('/jwks', () => jwks(k1));
    const verifier = viaJwksUri();
    await verifier.verify(await signToken(k1, claims(server.origin)));
    expect(server.hitCount('/jwks')).toBe(1);

    const unknown = await signToken(k2, claims(server.origin));
    clock.advance(1_000);
    expect(await reasonOf(verifier.verify(unknown))).toBe('unknown_key');
    expect(await reasonOf(verifier.verify(unknown))).toBe('unknown_key');
    expect(server.hitCount('/jwks')).toBe(1);

    clock.advance(30_000);
    expect(await reasonOf(verifier.verify(unknown))).toBe('unknown_key');
    expect(server.hitCount('/jwks')).toBe(2);
    expect(await reasonOf(verifier.verify(unknown))).toBe('unknown_key');
    expect(server.hitCount('/jwks')).toBe(2);
  });

  it('picks up a rotated key through the unknown-kid refresh', async () => {
    let published = jwks(k1);
    server.json('/jwks', () => published);
    const verifier = viaJwksUri();
    await verifier.verify(await signToken(k1, claims(server.origin)));

    published = jwks(k1, k2);
    clock.advance(31_000);
    const identity = await verifier.verify(await signToken(k2, claims(server.origin)));
    expect(identity.subject).toBe('repo:acme/app:ref:refs/heads/main');
    expect(server.hitCount('/jwks')).toBe(2);
  });

  it('keeps using cached keys while the endpoint is down', async () => {
    let status = 200;
    server.routes.set('/jwks', (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(jwks(k1)));
    });
    const verifier = viaJwksUri();
    await verifier.verify(await signToken(k1, claims(server.origin)));
    status = 503;
    clock.advance(10 * 60_000);
    await expect(
      verifier.verify(await signToken(k1, claims(server.origin))),
    ).resolves.toBeDefined();
    expect(server.hitCount('/jwks')).toBe(2);
  });

  it('drops keys the issuer stopped publishing once the cache is refreshed', async () => {
    let published = jwks(k1);
    server.json('/jwks', () => published);
    const verifier = viaJwksUri();
    await verifier.verify(await signToken(k1, claims(server.origin)));
    published = jwks(k2);
    clock.advance(10 * 60_000);
    expect(await reasonOf(verifier.verify(await signToken(k1, claims(server.origin))))).toBe(
      'unknown_key',
    );
  });

  it('refuses every token when no keys were ever fetched', async () => {
    server.json('/jwks', () => ({ error: 'down' }), 500);
    expect(await reasonOf(viaJwksUri().verify(await signToken(k1, claims(server.origin))))).toBe(
      'jwks_unavailable',
    );
  });

  it('does not follow a redirect from the JWKS endpoint', async () => {
    server.json('/real-jwks', () => jwks(k1));
    server.routes.set('/jwks', (_req, res) => {
      res.writeHead(302, { location: `${server.origin}/real-jwks` }).end();
    });
    expect(await reasonOf(viaJwksUri().verify(await signToken(k1, claims(server.origin))))).toBe(
      'jwks_unavailable',
    );
    expect(server.hitCount('/jwks')).toBe(1);
    expect(server.hitCount('/real-jwks')).toBe(0);
  });

  it('refuses a JWKS document larger than 512 KiB', async () => {
    server.json('/jwks', () => ({ ...jwks(k1), padding: 'x'.repeat(600 * 1024) }));
    expect(await reasonOf(viaJwksUri().verify(await signToken(k1, claims(server.origin))))).toBe(
      'jwks_unavailable',
    );
  });

  it('refuses an algorithm the issuer does not allow before fetching any key', async () => {
    const rsa = await makeKey('rsa-1', 'RS256');
    server.json('/jwks', () => jwks(rsa));
    const verifier = new IdentityVerifier(
      [
        issuerConfig({
          issuer: server.origin,
          jwks_uri: `${server.origin}/jwks`,
          allow_insecure_loopback: true,
          algorithms: ['ES256'],
        }),
      ],
      [],
      { now: clock.now },
    );
    const token = await signToken(rsa, claims(server.origin));
    expect(await reasonOf(verifier.verify(token))).toBe('algorithm_not_allowed');
    expect(server.totalHits()).toBe(0);
  });

  it.each([
    ['jku', (origin: string) => `${origin}/attacker-jwks`],
    ['x5u', (origin: string) => `${origin}/attacker-cert`],
  ])('never fetches a %s header URL', async (name, url) => {
    server.json('/jwks', () => jwks(k1));
    elsewhere.json('/attacker-jwks', () => jwks(k2));
    elsewhere.json('/attacker-cert', () => ({}));
    const token = await signToken(k2, claims(server.origin), { [name]: url(elsewhere.origin) });
    expect(await reasonOf(viaJwksUri().verify(token))).toBe('forbidden_header');
    expect(elsewhere.totalHits()).toBe(0);
    expect(server.totalHits()).toBe(0);
  });

  it('never trusts an embedded jwk or x5c, and fetches nothing for them', async () => {
    server.json('/jwks', () => jwks(k1));
    for (const header of [{ jwk: k2.jwk }, { x5c: ['MIIB'] }]) {
      const token = await signToken(k2, claims(server.origin), header);
      expect(await reasonOf(viaJwksUri().verify(token))).toBe('forbidden_header');
    }
    expect(server.totalHits()).toBe(0);
  });
});

describe('keys from discovery', () => {
  it('finds the JWKS through the discovery document', async () => {
    server.json('/.well-known/openid-configuration', () => ({
      issuer: server.origin,
      jwks_uri: `${server.origin}/keys`,
    }));
    server.json('/keys', () => jwks(k1));
    const identity = await viaDiscovery().verify(await signToken(k1, claims(server.origin)));
    expect(identity.iss).toBe(server.origin);
    expect(server.hitCount('/keys')).toBe(1);
  });

  it('handles an issuer with a path and a trailing slash', async () => {
    const issuer = `${server.origin}/tenant/`;
    server.json('/tenant/.well-known/openid-configuration', () => ({
      issuer,
      jwks_uri: `${server.origin}/tenant/keys`,
    }));
    server.json('/tenant/keys', () => jwks(k1));
    await expect(
      viaDiscovery(issuer).verify(await signToken(k1, claims(issuer))),
    ).resolves.toBeDefined();
  });

  it('refuses a discovery document that names another issuer', async () => {
    server.json('/.well-known/openid-configuration', () => ({
      issuer: 'https://someone-else.example',
      jwks_uri: `${server.origin}/keys`,
    }));
    server.json('/keys', () => jwks(k1));
    const err = await rejectionOf(
      viaDiscovery().verify(await signToken(k1, claims(server.origin))),
    );
    expect((err as unknown as AuthError).reason).toBe('jwks_unavailable');
    expect(err.message).toContain('another issuer');
    expect(server.hitCount('/keys')).toBe(0);
  });

  it('refuses a jwks_uri on another origin', async () => {
    server.json('/.well-known/openid-configuration', () => ({
      issuer: server.origin,
      jwks_uri: `${elsewhere.origin}/keys`,
    }));
    elsewhere.json('/keys', () => jwks(k1));
    const err = await rejectionOf(
      viaDiscovery().verify(await signToken(k1, claims(server.origin))),
    );
    expect((err as unknown as AuthError).reason).toBe('jwks_unavailable');
    expect(err.message).toContain('another origin');
    expect(elsewhere.totalHits()).toBe(0);
  });
});
