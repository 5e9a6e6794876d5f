import {
  CompactEncrypt,
  type CryptoKey,
  exportSPKI,
  importJWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
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
  unsignedToken,
  writeJwksFile,
} from '../../helpers/identity-support.js';

const ISS = 'https://idp.example.test';

let key: TestKey;
let otherKey: TestKey;
let rsaKey: TestKey;
let jwksPath: string;
const clock = new TestClock();

function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  // Overrides may set a claim to undefined, which JSON drops: a token without that claim.
  return {
    iss: ISS,
    aud: 'jit-broker',
    sub: 'system:serviceaccount:mcp:github-mcp',
    iat: clock.seconds - 10,
    exp: clock.seconds + 300,
    ...overrides,
  } as JWTPayload;
}

function verifier(overrides: Record<string, unknown> = {}): IdentityVerifier {
  return new IdentityVerifier([issuerConfig({ jwks_file: jwksPath, ...overrides })], [], {
    now: clock.now,
  });
}

async function reasonFor(token: string, v = verifier()): Promise<string> {
  const err = await rejectionOf(v.verify(token));
  expect(err).toBeInstanceOf(AuthError);
  const auth = err as unknown as AuthError;
  // Every failure names the token only by its hash.
  expect(auth.tokenHash).toBe(sha256(token));
  if (token.length > 0) expect(auth.message).not.toContain(token);
  return auth.reason;
}

beforeAll(async () => {
  key = await makeKey('k1');
  otherKey = await makeKey('k-other');
  rsaKey = await makeKey('k-rsa', 'RS256');
  jwksPath = writeJwksFile(jwks(key, rsaKey));
});

describe('IdentityVerifier with a JWKS file', () => {
  it('verifies a good token and reports issuer, subject, hash and expiry', async () => {
    const token = await signToken(key, claims());
    const identity = await verifier().verify(token);
    expect(identity).toMatchObject({
      issuer: 'test-idp',
      iss: ISS,
      subject: 'system:serviceaccount:mcp:github-mcp',
      tokenHash: sha256(token),
      expiresAt: (clock.seconds + 300) * 1000,
    });
    expect(identity.claims.aud).toBe('jit-broker');
  });

  it('verifies RS256 when the issuer allows it', async () => {
    const token = await signToken(rsaKey, claims());
    await expect(verifier().verify(token)).resolves.toMatchObject({ issuer: 'test-idp' });
  });

  it('tries every key when the token has no kid', async () => {
    const second = await makeKey('k2');
    const path = writeJwksFile(jwks(key, second));
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'ES256' })
      .sign(second.privateKey);
    await expect(verifier({ jwks_file: path }).verify(token)).resolves.toBeDefined();
  });

  it('refuses an empty token', async () => {
    expect(await reasonFor('')).toBe('missing_token');
  });

  it('refuses a token over 16 KiB before decoding it', async () => {
    const token = await signToken(key, claims({ pad: 'x'.repeat(17 * 1024) }));
    expect(await reasonFor(token)).toBe('too_large');
    // Not even a JWS: the size is checked first.
    expect(await reasonFor('!'.repeat(17 * 1024))).toBe('too_large');
  });

  it('accepts a token just under the cap', async () => {
    const base = await signToken(key, claims({ pad: '' }));
    const token = await signToken(
      key,
      claims({ pad: 'x'.repeat(((16 * 1024 - base.length) * 3) / 4 - 200) }),
    );
    expect(token.length).toBeLessThanOrEqual(16 * 1024);
    await expect(verifier().verify(token)).resolves.toBeDefined();
  });

  it('refuses an encrypted (JWE, five-part) token', async () => {
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims())))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .encrypt(new Uint8Array(32));
    expect(jwe.split('.')).toHaveLength(5);
    expect(await reasonFor(jwe)).toBe('unsupported_token');
  });

  it('refuses tokens that are not a compact JWS', async () => {
    expect(await reasonFor('abc')).toBe('malformed');
    expect(await reasonFor('a.b.c.d')).toBe('malformed');
    expect(await reasonFor('e30.e30.c2ln')).toBe('malformed');
    expect(await reasonFor('é.b.c')).toBe('malformed');
  });

  it('refuses alg none', async () => {
    expect(await reasonFor(unsignedToken({ alg: 'none' }, claims()))).toBe('algorithm_not_allowed');
  });

  it('refuses HS256 signed with the public key material', async () => {
    const secret = new TextEncoder().encode(await exportSPKI(await publicKeyOf(key)));
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256', kid: key.kid })
      .sign(secret);
    expect(await reasonFor(token)).toBe('algorithm_not_allowed');
  });

  it('refuses an algorithm the issuer does not allow', async () => {
    const token = await signToken(rsaKey, claims());
    expect(await reasonFor(token, verifier({ algorithms: ['ES256'] }))).toBe(
      'algorithm_not_allowed',
    );
  });

  it.each([
    ['jku', 'https://attacker.example/jwks.json'],
    ['x5u', 'https://attacker.example/cert.pem'],
    ['x5c', ['MIIBszCCAVmgAwIBAgIUV']],
  ])('refuses the %s header', async (name, value) => {
    const token = await signToken(key, claims(), { [name]: value });
    expect(await reasonFor(token)).toBe('forbidden_header');
  });

  it('refuses an embedded jwk header even when it holds the real key', async () => {
    const token = await signToken(key, claims(), { jwk: key.jwk });
    expect(await reasonFor(token)).toBe('forbidden_header');
  });

  it('refuses any crit header', async () => {
    const token = await signRaw(key, { alg: 'ES256', kid: 'k1', crit: ['exp'] }, claims());
    expect(await reasonFor(token)).toBe('forbidden_header');
  });

  it('refuses b64: false', async () => {
    const token = await signRaw(
      key,
      { alg: 'ES256', kid: 'k1', b64: false, crit: ['b64'] },
      claims(),
    );
    expect(await reasonFor(token)).toBe('forbidden_header');
    const withoutCrit = await signRaw(key, { alg: 'ES256', kid: 'k1', b64: false }, claims());
    expect(await reasonFor(withoutCrit)).toBe('forbidden_header');
  });

  it('refuses a stripped signature', async () => {
    const token = await signToken(key, claims());
    const stripped = `${token.slice(0, token.lastIndexOf('.'))}.`;
    expect(await reasonFor(stripped)).toBe('bad_signature');
  });

  it('refuses a signature by a key that shares the kid of a trusted one', async () => {
    const impostor = { ...otherKey, kid: 'k1' };
    expect(await reasonFor(await signToken(impostor, claims()))).toBe('bad_signature');
  });

  it('refuses a tampered payload', async () => {
    const [h, , s] = (await signToken(key, claims())).split('.');
    const forged = Buffer.from(JSON.stringify(claims({ sub: 'admin' }))).toString('base64url');
    expect(await reasonFor(`${h}.${forged}.${s}`)).toBe('bad_signature');
  });

  it('refuses a kid that is not in the key set', async () => {
    expect(await reasonFor(await signToken(otherKey, claims()))).toBe('unknown_key');
  });

  it('refuses an unknown iss, and one that differs only by a trailing slash', async () => {
    expect(await reasonFor(await signToken(key, claims({ iss: 'https://evil.test' })))).toBe(
      'unknown_issuer',
    );
    expect(await reasonFor(await signToken(key, claims({ iss: `${ISS}/` })))).toBe(
      'unknown_issuer',
    );
    expect(await reasonFor(await signToken(key, claims({ iss: undefined })))).toBe(
      'unknown_issuer',
    );
  });

  it('refuses a wrong audience', async () => {
    expect(await reasonFor(await signToken(key, claims({ aud: 'other-service' })))).toBe(
      'audience_mismatch',
    );
  });

  it('refuses several audiences without ours, accepts several with ours', async () => {
    expect(await reasonFor(await signToken(key, claims({ aud: ['a', 'b'] })))).toBe(
      'audience_mismatch',
    );
    const ours = await signToken(key, claims({ aud: ['a', 'jit-broker'] }));
    await expect(verifier().verify(ours)).resolves.toBeDefined();
  });

  it('refuses a missing audience', async () => {
    expect(await reasonFor(await signToken(key, claims({ aud: undefined })))).toBe(
      'audience_mismatch',
    );
  });

  it('refuses a token without exp, or with a non-numeric exp', async () => {
    expect(await reasonFor(await signToken(key, claims({ exp: undefined })))).toBe('claim_invalid');
    const stringExp = await signRaw(
      key,
      { alg: 'ES256', kid: 'k1' },
      {
        ...claims(),
        exp: String(clock.seconds + 300) as unknown as number,
      },
    );
    expect(await reasonFor(stringExp)).toBe('claim_invalid');
  });

  it('expires at exp minus the clock tolerance, exactly', async () => {
    // Default tolerance 30 s: expired once exp <= now - 30.
    expect(await reasonFor(await signToken(key, claims({ exp: clock.seconds - 30 })))).toBe(
      'expired',
    );
    const lastValid = await signToken(key, claims({ exp: clock.seconds - 29 }));
    await expect(verifier().verify(lastValid)).resolves.toBeDefined();
  });

  it('honours a configured clock tolerance of zero', async () => {
    const v = verifier({ clock_tolerance: 0 });
    expect(await reasonFor(await signToken(key, claims({ exp: clock.seconds })), v)).toBe(
      'expired',
    );
    await expect(
      v.verify(await signToken(key, claims({ exp: clock.seconds + 1 }))),
    ).resolves.toBeDefined();
  });

  it('refuses nbf in the future beyond the tolerance', async () => {
    expect(await reasonFor(await signToken(key, claims({ nbf: clock.seconds + 31 })))).toBe(
      'not_yet_valid',
    );
    const within = await signToken(key, claims({ nbf: clock.seconds + 30 }));
    await expect(verifier().verify(within)).resolves.toBeDefined();
  });

  it('refuses iat in the future even without max_token_age', async () => {
    expect(await reasonFor(await signToken(key, claims({ iat: clock.seconds + 31 })))).toBe(
      'not_yet_valid',
    );
  });

  it('enforces max_token_age on iat', async () => {
    const v = verifier({ max_token_age: '10m' });
    const old = await signToken(key, claims({ iat: clock.seconds - 600 - 31 }));
    expect(await reasonFor(old, v)).toBe('too_old');
    const fresh = await signToken(key, claims({ iat: clock.seconds - 600 }));
    await expect(v.verify(fresh)).resolves.toBeDefined();
  });

  it('requires iat (oidc profile)', async () => {
    expect(await reasonFor(await signToken(key, claims({ iat: undefined })))).toBe('claim_invalid');
  });

  it('requires sub to be a non-empty string', async () => {
    for (const sub of [undefined, '', 42]) {
      const token = await signRaw(
        key,
        { alg: 'ES256', kid: 'k1' },
        {
          ...claims(),
          sub: sub as string,
        },
      );
      expect(await reasonFor(token)).toBe('claim_invalid');
    }
  });

  it('carries the issuer name on failures after the issuer is known', async () => {
    const err = await rejectionOf(verifier().verify(await signToken(key, claims({ exp: 1 }))));
    expect((err as unknown as AuthError).issuer).toBe('test-idp');
  });
});

describe('IdentityVerifier construction', () => {
  it('refuses a spiffe issuer that does not name a trust domain', () => {
    expect(
      () =>
        new IdentityVerifier(
          [
            issuerConfig({
              profile: 'spiffe',
              issuer: 'https://spire.test',
              bundle_file: jwksPath,
            }),
          ],
          [],
        ),
    ).toThrow(TypeError);
  });

  it('refuses two issuers with the same iss', () => {
    const a = issuerConfig({ jwks_file: jwksPath });
    const b = issuerConfig({ name: 'twin', jwks_file: jwksPath });
    expect(() => new IdentityVerifier([a, b], [])).toThrow(TypeError);
  });

  it('refuses a missing JWKS file', () => {
    expect(() => verifier({ jwks_file: '/nonexistent/jwks.json' })).toThrow(TypeError);
  });

  it('refuses plain http key sources unless loopback is allowed, and never off loopback', () => {
    expect(() => verifier({ jwks_file: undefined, jwks_uri: 'http://127.0.0.1:1/jwks' })).toThrow(
      TypeError,
    );
    expect(() =>
      verifier({
        jwks_file: undefined,
        jwks_uri: 'http://idp.example.test/jwks',
        allow_insecure_loopback: true,
      }),
    ).toThrow(TypeError);
    expect(() =>
      verifier({
        jwks_file: undefined,
        jwks_uri: 'http://127.0.0.1:1/jwks',
        allow_insecure_loopback: true,
      }),
    ).not.toThrow();
  });
});

async function publicKeyOf(k: TestKey): Promise<CryptoKey> {
  return (await importJWK(k.jwk, k.alg)) as CryptoKey;
}

describe('IdentityVerifier.authenticateWorkload', () => {
  const workloads = [
    {
      id: 'github-mcp',
      issuer: 'test-idp',
      subject: 'system:serviceaccount:mcp:*',
      tier: 'write' as const,
      max_active_leases: 10,
    },
  ];

  it('maps a verified identity to its workload', async () => {
    const v = new IdentityVerifier([issuerConfig({ jwks_file: jwksPath })], workloads, {
      now: clock.now,
    });
    const principal = await v.authenticateWorkload(await signToken(key, claims()));
    expect(principal.kind).toBe('workload');
    expect(principal.workload.id).toBe('github-mcp');
    expect(principal.identity.subject).toBe('system:serviceaccount:mcp:github-mcp');
  });

  it('refuses a verified identity that maps to no workload', async () => {
    const v = new IdentityVerifier([issuerConfig({ jwks_file: jwksPath })], workloads, {
      now: clock.now,
    });
    const token = await signToken(key, claims({ sub: 'system:serviceaccount:other:x' }));
    const err = (await rejectionOf(v.authenticateWorkload(token))) as unknown as AuthError;
    expect(err.reason).toBe('no_workload');
    expect(err.tokenHash).toBe(sha256(token));
    expect(err.subject).toBe('system:serviceaccount:other:x');
  });

  it('does not map a token that fails verification', async () => {
    const v = new IdentityVerifier([issuerConfig({ jwks_file: jwksPath })], workloads, {
      now: clock.now,
    });
    const token = await signToken(key, claims({ exp: clock.seconds - 600 }));
    expect(
      ((await rejectionOf(v.authenticateWorkload(token))) as unknown as AuthError).reason,
    ).toBe('expired');
  });
});
