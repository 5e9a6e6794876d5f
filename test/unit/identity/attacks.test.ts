import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JWTPayload } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fetchJson } from '../../../src/identity/fetch-json.js';
import { trustingFetch } from '../../../src/identity/trusting-fetch.js';
import { AuthError } from '../../../src/identity/types.js';
import { IdentityVerifier } from '../../../src/identity/verifier.js';
import {
  issuerConfig,
  jwks,
  makeKey,
  rejectionOf,
  sha256,
  signRaw,
  signToken,
  TestClock,
  type TestKey,
  TestServer,
  unsignedToken,
} from '../../helpers/identity-support.js';

let key: TestKey;
let clock: TestClock;
let server: TestServer;

beforeAll(async () => {
  key = await makeKey('k1');
});

beforeEach(async () => {
  clock = new TestClock();
  server = await new TestServer().start();
  server.json('/jwks', () => jwks(key));
});

afterEach(async () => {
  await server.stop();
});

function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  return {
    iss: server.origin,
    aud: 'jit-broker',
    sub: 'agent',
    iat: clock.seconds,
    exp: clock.seconds + 300,
    ...overrides,
  } as JWTPayload;
}

function verifier(): IdentityVerifier {
  return new IdentityVerifier(
    [
      issuerConfig({
        issuer: server.origin,
        jwks_uri: `${server.origin}/jwks`,
        allow_insecure_loopback: true,
      }),
    ],
    [],
    { now: clock.now },
  );
}

async function reasonFor(token: string, v = verifier()): Promise<string> {
  const err = await rejectionOf(v.verify(token));
  expect(err).toBeInstanceOf(AuthError);
  expect((err as unknown as AuthError).tokenHash).toBe(sha256(token));
  return (err as unknown as AuthError).reason;
}

describe('the attack battery, at the verifier', () => {
  it.each(['none', 'None', 'NONE', 'nOnE'])(
    'refuses alg %s, signed or not, without a fetch',
    async (alg) => {
      expect(await reasonFor(unsignedToken({ alg }, claims()))).toBe('algorithm_not_allowed');
      expect(await reasonFor(await signRaw(key, { alg, kid: 'k1' }, claims()))).toBe(
        'algorithm_not_allowed',
      );
      expect(server.totalHits()).toBe(0);
    },
  );

  it.each([
    '../../../../etc/passwd',
    '/dev/zero',
    "k1' OR '1'='1",
    'k1"; DROP TABLE keys; --',
    '%2e%2e%2fjwks',
  ])('treats kid %j as an unknown key, fetching only the configured JWKS', async (kid) => {
    const v = verifier();
    await v.verify(await signToken(key, claims()));
    clock.advance(31_000);
    expect(await reasonFor(await signToken({ ...key, kid }, claims()), v)).toBe('unknown_key');
    expect(await reasonFor(await signToken({ ...key, kid }, claims({ sub: 'b' })), v)).toBe(
      'unknown_key',
    );
    // One refetch for the unknown kid, behind the cooldown; never any other path.
    expect(server.hitCount('/jwks')).toBe(2);
    expect(server.totalHits()).toBe(2);
  });

  it('refuses a nested JWT (cty: JWT) and a zip header', async () => {
    const inner = await signToken(key, claims());
    const nested = await signRaw(
      key,
      { alg: 'ES256', kid: 'k1', cty: 'JWT' },
      inner as unknown as JWTPayload,
    );
    expect(await reasonFor(nested)).toBe('forbidden_header');
    const ctyJson = await signRaw(key, { alg: 'ES256', kid: 'k1', cty: 'JWT' }, claims());
    expect(await reasonFor(ctyJson)).toBe('forbidden_header');
    expect(
      await reasonFor(await signRaw(key, { alg: 'ES256', kid: 'k1', zip: 'DEF' }, claims())),
    ).toBe('forbidden_header');
    expect(server.totalHits()).toBe(0);
  });

  it('refuses claims of the wrong type', async () => {
    const cases: Record<string, unknown>[] = [
      { exp: `${clock.seconds + 300}` },
      { nbf: 'yesterday' },
      { iat: [clock.seconds] },
      { aud: { value: 'jit-broker' } },
      { iss: [server.origin] },
      { sub: { id: 'agent' } },
    ];
    for (const overrides of cases) {
      const token = await signRaw(key, { alg: 'ES256', kid: 'k1' }, claims(overrides));
      expect(['claim_invalid', 'audience_mismatch', 'unknown_issuer']).toContain(
        await reasonFor(token),
      );
    }
  });
});

describe('issuer CA bundle and bearer token for key fetches', () => {
  let dir: string;
  let https: Server;
  let origin: string;
  let authorizations: (string | undefined)[];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'jit-ca-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    writeFileSync(join(dir, 'token'), 'cluster-sa-token');
  });

  beforeEach(async () => {
    authorizations = [];
    https = createServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (req, res) => {
        authorizations.push(req.headers.authorization);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks(key)));
      },
    );
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    origin = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    https.closeAllConnections();
    await new Promise<void>((resolve) => https.close(() => resolve()));
  });

  function viaCa(overrides: Record<string, unknown> = {}): IdentityVerifier {
    return new IdentityVerifier(
      [issuerConfig({ issuer: origin, jwks_uri: `${origin}/openid/v1/jwks`, ...overrides })],
      [],
      { now: clock.now },
    );
  }

  it('trusts the issuer CA for its JWKS and sends its bearer token', async () => {
    const v = viaCa({ ca_file: join(dir, 'cert.pem'), bearer_token_file: join(dir, 'token') });
    await expect(v.verify(await signToken(key, claims({ iss: origin })))).resolves.toBeDefined();
    expect(authorizations).toEqual(['Bearer cluster-sa-token']);
  });

  it('refuses the same endpoint without the CA, and sends no token when none is configured', async () => {
    const err = (await rejectionOf(
      viaCa().verify(await signToken(key, claims({ iss: origin }))),
    )) as unknown as AuthError;
    expect(err.reason).toBe('jwks_unavailable');
    const plain = await fetchJson(`${origin}/x`, {
      fetch: trustingFetch(readFileSync(join(dir, 'cert.pem'), 'utf8')),
      allowInsecureLoopback: false,
    });
    expect(plain).toEqual(jwks(key));
    expect(authorizations.at(-1)).toBeUndefined();
  });

  it('fails at start when the CA file is missing', () => {
    expect(() => viaCa({ ca_file: join(dir, 'missing.pem') })).toThrow(TypeError);
  });
});
