import { generateKeyPairSync } from 'node:crypto';
import {
  base64url,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
  SignJWT,
  UnsecuredJWT,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  generateDevKey,
  type JwtProvider,
  jwtCeilingSchema,
  jwtProviderFactory,
  jwtTargetSchema,
  jwtWithin,
  Keyring,
} from '../../../providers/jwt/index.js';
import { type MintRequest, ProviderError } from '../../../providers/provider.js';
import { providerFactories } from '../../../providers/registry.js';

const BROKER = 'https://broker.test';
const AUDIENCE = 'https://api.internal.test';

function ecPem(curve = 'P-256'): string {
  return generateKeyPairSync('ec', { namedCurve: curve })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
}

const ACTIVE_PEM = ecPem();
const NEXT_PEM = ecPem();
const RETIRED_PEM = ecPem();

type KeyEntry = { kid: string; private_key: string; state: 'active' | 'next' | 'retired' };

function target(overrides: Record<string, unknown> = {}) {
  return {
    name: 'jwt-internal',
    provider: 'jwt',
    audience: AUDIENCE,
    keys: [
      { kid: 'k-retired', private_key: RETIRED_PEM, state: 'retired' },
      { kid: 'k-active', private_key: ACTIVE_PEM, state: 'active' },
      { kid: 'k-next', private_key: NEXT_PEM, state: 'next' },
    ] satisfies KeyEntry[],
    ...overrides,
  };
}

function create(overrides: Record<string, unknown> = {}, brokerUrl = BROKER): JwtProvider {
  return jwtProviderFactory.create(target(overrides), { brokerUrl }) as JwtProvider;
}

const ISSUED_AT = Date.now();
function mintRequest(overrides: Partial<MintRequest<{ scopes: string[] }>> = {}) {
  return {
    leaseId: 'lse_01abcdefghijklmnopqrstuvwx',
    workload: 'orders-mcp',
    subject: 'system:serviceaccount:mcp:orders',
    task: { id: 'task-42', intent: 'refund', tool: 'orders.refund' },
    scope: { scopes: ['orders:read', 'orders:refund'] },
    issuedAt: ISSUED_AT,
    expiresAt: ISSUED_AT + 300_000,
    ...overrides,
  } satisfies MintRequest<{ scopes: string[] }>;
}

describe('jwt provider: mint', () => {
  const provider = create();

  it('signs an at+jwt whose header and claims are exactly the contract', async () => {
    const minted = await provider.mint(mintRequest());
    const { protectedHeader, payload } = await jwtVerify(
      minted.credential.token,
      createLocalJWKSet({ keys: provider.publicJwks() }),
    );
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: 'k-active', typ: 'at+jwt' });
    const iat = Math.floor(ISSUED_AT / 1000);
    const exp = Math.floor((ISSUED_AT + 300_000) / 1000);
    expect(payload).toEqual({
      iss: BROKER,
      aud: AUDIENCE,
      sub: 'orders-mcp',
      client_id: 'orders-mcp',
      act: { sub: 'system:serviceaccount:mcp:orders' },
      jti: 'lse_01abcdefghijklmnopqrstuvwx',
      iat,
      nbf: iat,
      exp,
      scope: 'orders:read orders:refund',
      task: { id: 'task-42', intent: 'refund', tool: 'orders.refund' },
    });
    expect(minted.credential).toEqual({
      token: minted.credential.token,
      token_type: 'Bearer',
      audience: AUDIENCE,
      expires_at: new Date(exp * 1000).toISOString(),
    });
    expect(minted.providerExpiresAt).toBe(exp * 1000);
  });

  it('nests a verified actor as act.act (RFC 8693 §4.1) and leaves out an absent tool', async () => {
    const minted = await provider.mint(
      mintRequest({
        actor: { subject: 'user:alice', issuer: 'https://idp.test' },
        task: { id: 'task-43', intent: 'refund' },
      }),
    );
    const payload = decodeJwt(minted.credential.token);
    expect(payload.act).toEqual({
      sub: 'system:serviceaccount:mcp:orders',
      act: { sub: 'user:alice', iss: 'https://idp.test' },
    });
    expect(payload.task).toEqual({ id: 'task-43', intent: 'refund' });
  });

  it('keeps the handle free of secrets: the actor chain and a digest of the grant', async () => {
    const minted = await provider.mint(mintRequest());
    // The subject is the lease's own: the handle holds the rest of the actor chain only.
    expect(minted.handle).toEqual({ act: {}, grant: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) });
    const serialised = JSON.stringify(minted.handle);
    expect(serialised).not.toContain(minted.credential.token);
    expect(serialised).not.toContain('PRIVATE KEY');
  });

  it('is given no scope its own schema refused: the grant that mints was parsed by it', () => {
    // A space would split one granted scope into two in the token's space-separated claim.
    expect(provider.scope.safeParse({ scopes: ['has space'] }).success).toBe(false);
  });

  it('refuses an expiry that is not after the issue time', async () => {
    await expect(provider.mint(mintRequest({ expiresAt: ISSUED_AT }))).rejects.toBeInstanceOf(
      ProviderError,
    );
  });

  it('revoke resolves (the lease store is the truth) and check reports ready', async () => {
    await expect(provider.revoke({ kid: 'k-active' }, 'lse_x')).resolves.toBeUndefined();
    await expect(provider.check()).resolves.toMatchObject({ ok: true });
    expect(provider.revokeConcurrency).toBe(64);
    expect(provider.target).toBe('jwt-internal');
  });
});

describe('jwt provider: keyring', () => {
  const provider = create();

  it('publishes active, next and retired keys with kid, alg and use', () => {
    const jwks = provider.publicJwks();
    expect(jwks.map((jwk) => jwk.kid)).toEqual(['k-active', 'k-next', 'k-retired']);
    for (const jwk of jwks) {
      expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    }
  });

  it('signs only with the active key: the next key is published but never used', async () => {
    const activeOnly = createLocalJWKSet({
      keys: provider.publicJwks().filter((jwk) => jwk.kid === 'k-active'),
    });
    const others = provider.publicJwks().filter((jwk) => jwk.kid !== 'k-active');
    for (let i = 0; i < 5; i++) {
      const { credential } = await provider.mint(mintRequest({ leaseId: `lse_${i}` }));
      expect(decodeProtectedHeader(credential.token).kid).toBe('k-active');
      await expect(jwtVerify(credential.token, activeOnly)).resolves.toBeDefined();
      // Relabel the token as the next/retired key: their keys must not verify it.
      for (const other of others) {
        const relabelled = createLocalJWKSet({ keys: [{ ...other, kid: 'k-active' }] });
        await expect(jwtVerify(credential.token, relabelled)).rejects.toThrow();
      }
    }
  });

  it('keeps verifying tokens of a retired key, and stops once the key is removed', async () => {
    const before = create({
      keys: [{ kid: 'k-old', private_key: RETIRED_PEM, state: 'active' }],
    });
    const { credential } = await before.mint(mintRequest());

    const rotated = create({
      keys: [
        { kid: 'k-old', private_key: RETIRED_PEM, state: 'retired' },
        { kid: 'k-new', private_key: ACTIVE_PEM, state: 'active' },
      ],
    });
    expect(await rotated.verifyIssued(credential.token)).toMatchObject({
      jti: mintRequest().leaseId,
    });
    const fresh = await rotated.mint(mintRequest());
    expect(decodeProtectedHeader(fresh.credential.token).kid).toBe('k-new');

    const removed = create({ keys: [{ kid: 'k-new', private_key: ACTIVE_PEM, state: 'active' }] });
    expect(await removed.verifyIssued(credential.token)).toBeNull();
  });

  it('publishes no private key material, whatever the key type', () => {
    const ed = generateKeyPairSync('ed25519').privateKey;
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const cases = [
      {
        algorithm: 'ES256',
        pem: ACTIVE_PEM,
        members: ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'],
      },
      {
        algorithm: 'ES384',
        pem: ecPem('P-384'),
        members: ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'],
      },
      {
        algorithm: 'EdDSA',
        pem: ed.export({ type: 'pkcs8', format: 'pem' }).toString(),
        members: ['alg', 'crv', 'kid', 'kty', 'use', 'x'],
      },
      {
        algorithm: 'PS256',
        pem: rsa.export({ type: 'pkcs8', format: 'pem' }).toString(),
        members: ['alg', 'e', 'kid', 'kty', 'n', 'use'],
      },
    ];
    for (const { algorithm, pem, members } of cases) {
      const jwks = create({
        algorithm,
        keys: [{ kid: 'k1', private_key: pem, state: 'active' }],
      }).publicJwks();
      expect(Object.keys(jwks[0] ?? {}).sort()).toEqual(members);
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi'])
        expect(jwks[0]).not.toHaveProperty(secret);
    }
  });

  it('returns copies: altering the published set does not alter the keyring', () => {
    const jwks = provider.publicJwks();
    const first = jwks[0];
    if (first === undefined) throw new Error('no published key');
    first.x = 'tampered';
    expect(provider.publicJwks()[0]?.x).not.toBe('tampered');
  });

  it('signs with each supported algorithm and verifies its own tokens', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    for (const algorithm of ['RS256', 'PS256']) {
      const p = create({ algorithm, keys: [{ kid: 'r1', private_key: rsa, state: 'active' }] });
      const { credential } = await p.mint(mintRequest());
      expect(decodeProtectedHeader(credential.token).alg).toBe(algorithm);
      expect(await p.verifyIssued(credential.token)).not.toBeNull();
    }
  });

  it('accepts a private JWK given as JSON text', async () => {
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      format: 'jwk',
    });
    const p = create({ keys: [{ kid: 'j1', private_key: JSON.stringify(jwk), state: 'active' }] });
    const { credential } = await p.mint(mintRequest());
    expect(await p.verifyIssued(credential.token)).not.toBeNull();
  });
});

describe('jwt provider: config', () => {
  it.each([
    ['no active key', [{ kid: 'a', private_key: ACTIVE_PEM, state: 'next' }], /found 0/],
    [
      'two active keys',
      [
        { kid: 'a', private_key: ACTIVE_PEM, state: 'active' },
        { kid: 'b', private_key: NEXT_PEM, state: 'active' },
      ],
      /found 2/,
    ],
  ])('rejects %s, naming the target', (_, keys, found) => {
    const build = () => jwtProviderFactory.create(target({ keys }), { brokerUrl: BROKER });
    expect(build).toThrow(TypeError);
    expect(build).toThrow(/jwt-internal/);
    expect(build).toThrow(found);
  });

  it('reports the active-key count at the keys path', () => {
    const twoActive = jwtTargetSchema.safeParse(
      target({
        keys: [
          { kid: 'a', private_key: ACTIVE_PEM, state: 'active' },
          { kid: 'b', private_key: NEXT_PEM, state: 'active' },
        ],
      }),
    );
    expect(twoActive.error?.issues).toEqual([
      expect.objectContaining({ path: ['keys'], message: expect.stringContaining('found 2') }),
    ]);
  });

  it('refuses a keyring built directly with two active keys or none', () => {
    const key = (kid: string, state: KeyEntry['state']) => ({
      kid,
      private_key: ACTIVE_PEM,
      state,
    });
    expect(() => new Keyring('jwt-x', 'ES256', [key('a', 'active'), key('b', 'active')])).toThrow(
      /jwt-x.*found 2/,
    );
    expect(() => new Keyring('jwt-x', 'ES256', [key('a', 'retired')])).toThrow(/jwt-x.*found 0/);
    expect(() => new Keyring('jwt-x', 'ES256', [key('a', 'active'), key('a', 'next')])).toThrow(
      /duplicate kid/,
    );
  });

  it('reports a key that does not fit the algorithm at its path, without the key text', () => {
    const result = jwtTargetSchema.safeParse(
      target({ keys: [{ kid: 'a', private_key: ecPem('P-384'), state: 'active' }] }),
    );
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['keys', 0, 'private_key']);
    expect(JSON.stringify(result.error?.issues)).not.toContain('PRIVATE KEY');
  });

  it('says why a key is refused: a public JWK, or a PEM that is not PKCS#8', () => {
    const message = (privateKey: string) =>
      jwtTargetSchema.safeParse(
        target({ keys: [{ kid: 'a', private_key: privateKey, state: 'active' }] }),
      ).error?.issues[0]?.message;
    const { x, y } = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      format: 'jwk',
    });
    expect(message(JSON.stringify({ kty: 'EC', crv: 'P-256', x, y }))).toMatch(
      /no private member "d"/,
    );
    const sec1 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'sec1', format: 'pem' })
      .toString();
    expect(message(sec1)).toMatch(/PKCS#8/);
  });

  it('rejects an unreadable key, a public JWK, duplicate kids and unknown fields', () => {
    const cases: Record<string, unknown>[] = [
      { keys: [{ kid: 'a', private_key: 'not a key', state: 'active' }] },
      {
        keys: [
          {
            kid: 'a',
            private_key: '{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}',
            state: 'active',
          },
        ],
      },
      {
        keys: [
          { kid: 'a', private_key: ACTIVE_PEM, state: 'active' },
          { kid: 'a', private_key: NEXT_PEM, state: 'next' },
        ],
      },
      { extra: true },
      { algorithm: 'HS256' },
    ];
    for (const overrides of cases) {
      expect(jwtTargetSchema.safeParse(target(overrides)).success).toBe(false);
    }
  });

  it('applies the documented defaults', () => {
    const parsed = jwtTargetSchema.parse(target());
    expect(parsed).toMatchObject({
      algorithm: 'ES256',
      resource_servers: [],
      revoke_concurrency: 64,
      max_scopes: 32,
    });
  });

  it('generates a dev key that a target accepts', async () => {
    const pem = await generateDevKey();
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const p = create({ keys: [{ kid: 'dev', private_key: pem, state: 'active' }] });
    const { credential } = await p.mint(mintRequest());
    expect(await p.verifyIssued(credential.token)).not.toBeNull();
  });

  it('is the registered factory for kind jwt, and its providers are recognised as such', () => {
    expect(providerFactories.jwt).toBe(jwtProviderFactory);
    expect(jwtProviderFactory.kind).toBe('jwt');
    const provider = create();
    // The capabilities the core asks for instead of the kind.
    expect(provider.introspection.verify).toBe(provider.verifyIssued);
    expect(provider.introspection.resourceServers).toEqual(provider.resourceServers);
    expect(provider.bearerTokenType).toBe('jwt');
    expect(provider.publicJwks()).not.toHaveLength(0);
  });
});

describe('jwt provider: verifyIssued', () => {
  const provider = create({ resource_servers: ['orders-api'] });
  let token = '';
  beforeAll(async () => {
    token = (await provider.mint(mintRequest())).credential.token;
  });

  it('accepts its own token and exposes the introspection settings', async () => {
    expect(await provider.verifyIssued(token)).toMatchObject({ sub: 'orders-mcp', aud: AUDIENCE });
    expect(provider.audience).toBe(AUDIENCE);
    expect(provider.resourceServers).toEqual(['orders-api']);
  });

  it('rejects a token signed by another key under the same kid', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = await new SignJWT(decodeJwt(token))
      .setProtectedHeader({ alg: 'ES256', kid: 'k-active', typ: 'at+jwt' })
      .sign(privateKey);
    expect(await provider.verifyIssued(forged)).toBeNull();
  });

  it('rejects a token for another audience or from another issuer', async () => {
    const otherAudience = create({ audience: 'https://other.test' });
    const otherIssuer = create({}, 'https://evil.test');
    expect(
      await provider.verifyIssued((await otherAudience.mint(mintRequest())).credential.token),
    ).toBeNull();
    expect(
      await provider.verifyIssued((await otherIssuer.mint(mintRequest())).credential.token),
    ).toBeNull();
  });

  it('rejects a tampered payload', async () => {
    const [header, , signature] = token.split('.');
    const claims = { ...decodeJwt(token), scope: 'orders:read orders:refund admin' };
    const tampered = `${header}.${base64url.encode(JSON.stringify(claims))}.${signature}`;
    expect(await provider.verifyIssued(tampered)).toBeNull();
  });

  it('rejects alg none, even with a known kid', async () => {
    const unsigned = new UnsecuredJWT(decodeJwt(token)).encode();
    const [, payload] = unsigned.split('.');
    const header = base64url.encode(
      JSON.stringify({ alg: 'none', kid: 'k-active', typ: 'at+jwt' }),
    );
    expect(await provider.verifyIssued(unsigned)).toBeNull();
    expect(await provider.verifyIssued(`${header}.${payload}.`)).toBeNull();
  });

  it('rejects a token of the right key whose typ is not at+jwt', async () => {
    const { createPrivateKey } = await import('node:crypto');
    const plain = await new SignJWT(decodeJwt(token))
      .setProtectedHeader({ alg: 'ES256', kid: 'k-active', typ: 'JWT' })
      .sign(createPrivateKey(ACTIVE_PEM));
    expect(await provider.verifyIssued(plain)).toBeNull();
    // The same claims with the right typ do verify: the rejection above is about typ alone.
    const typed = await new SignJWT(decodeJwt(token))
      .setProtectedHeader({ alg: 'ES256', kid: 'k-active', typ: 'at+jwt' })
      .sign(createPrivateKey(ACTIVE_PEM));
    expect(await provider.verifyIssued(typed)).not.toBeNull();
  });

  it('does not even verify a token beyond the size cap, though signed with the right key', async () => {
    const { createPrivateKey } = await import('node:crypto');
    const signWithPadding = (padding: number) =>
      new SignJWT({ ...decodeJwt(token), padding: 'p'.repeat(padding) })
        .setProtectedHeader({ alg: 'ES256', kid: 'k-active', typ: 'at+jwt' })
        .sign(createPrivateKey(ACTIVE_PEM));
    expect(await provider.verifyIssued(await signWithPadding(40_000))).not.toBeNull();
    expect(await provider.verifyIssued(await signWithPadding(70_000))).toBeNull();
  });

  it('verifies the largest token the target can mint', async () => {
    const big = create({ max_scopes: 256 });
    const scopes = Array.from({ length: 256 }, (_, i) => `${i}:`.padEnd(128, 'x'));
    const { credential } = await big.mint(mintRequest({ scope: { scopes } }));
    expect(await big.verifyIssued(credential.token)).not.toBeNull();
  });

  it('rejects an expired token and garbage', async () => {
    const past = Date.now() - 3_600_000;
    const expired = await provider.mint(mintRequest({ issuedAt: past, expiresAt: past + 60_000 }));
    expect(await provider.verifyIssued(expired.credential.token)).toBeNull();
    expect(await provider.verifyIssued('not.a.jwt')).toBeNull();
    expect(await provider.verifyIssued('')).toBeNull();
    expect(await provider.verifyIssued(`${token}${'a'.repeat(100_000)}`)).toBeNull();
  });
});

describe('jwt provider: renew', () => {
  const provider = create();

  it('re-signs with the new exp and the same jti and claims', async () => {
    const minted = await provider.mint(mintRequest());
    const expiresAt = Date.now() + 900_000;
    const renewed = await provider.renew(minted.handle, { ...mintRequest(), expiresAt });
    const token = renewed.credential?.token ?? '';
    expect(token).not.toBe(minted.credential.token);
    const before = decodeJwt(minted.credential.token);
    const after = await provider.verifyIssued(token);
    expect(after?.exp).toBe(Math.floor(expiresAt / 1000));
    expect(after?.jti).toBe(before.jti);
    for (const claim of ['iss', 'aud', 'sub', 'act', 'scope', 'task', 'client_id']) {
      expect(after?.[claim]).toEqual(before[claim]);
    }
    expect(renewed.credential?.expires_at).toBe(
      new Date(Math.floor(expiresAt / 1000) * 1000).toISOString(),
    );
    expect(renewed.handle).toEqual(minted.handle);
  });

  it('re-signs with the key that is active now, after a rotation', async () => {
    const minted = await create({
      keys: [{ kid: 'k-old', private_key: RETIRED_PEM, state: 'active' }],
    }).mint(mintRequest());
    const rotated = create({
      keys: [
        { kid: 'k-old', private_key: RETIRED_PEM, state: 'retired' },
        { kid: 'k-new', private_key: ACTIVE_PEM, state: 'active' },
      ],
    });
    const renewed = await rotated.renew(minted.handle, {
      ...mintRequest(),
      expiresAt: Date.now() + 60_000,
    });
    expect(decodeProtectedHeader(renewed.credential?.token ?? '').kid).toBe('k-new');
  });

  it('keeps only the actor chain in the handle: the rest comes from the lease', async () => {
    const actor = { subject: 'user:alice', issuer: 'https://idp.test' };
    const minted = await provider.mint(mintRequest({ subjectIssuer: 'https://k8s.test', actor }));
    const act = {
      sub: mintRequest().subject,
      iss: 'https://k8s.test',
      act: { sub: 'user:alice', iss: 'https://idp.test' },
    };
    expect(minted.handle.act).toEqual({ iss: act.iss, act: act.act });
    const renewed = await provider.renew(minted.handle, {
      ...mintRequest(),
      expiresAt: Date.now() + 60_000,
    });
    const claims = decodeJwt(renewed.credential?.token ?? '');
    expect(claims).toMatchObject({ sub: 'orders-mcp', act, scope: 'orders:read orders:refund' });
  });

  it('refuses a renewal whose lease record no longer matches the sealed grant', async () => {
    const minted = await provider.mint(mintRequest());
    const later = Date.now() + 60_000;
    // A record altered in Redis: a wider (still valid) scope, another task, another workload.
    for (const altered of [
      { scope: { scopes: ['orders:read', 'orders:refund', 'orders:delete'] } },
      { task: { id: 'task-43', intent: 'refund', tool: 'orders.refund' } },
      { workload: 'other-mcp' },
      { subject: 'system:serviceaccount:mcp:other' },
    ]) {
      await expect(
        provider.renew(minted.handle, { ...mintRequest(altered), expiresAt: later }),
      ).rejects.toMatchObject({ code: 'not_renewable' });
    }
    // The target's audience changed since issue.
    const moved = create({ audience: 'https://other.test' });
    await expect(
      moved.renew(minted.handle, { ...mintRequest(), expiresAt: later }),
    ).rejects.toMatchObject({ code: 'not_renewable' });
  });

  it('answers not_renewable for a handle without an actor or a scope it does not know', async () => {
    const later = Date.now() + 60_000;
    await expect(
      provider.renew({ kid: 'k-active' }, { ...mintRequest(), expiresAt: later }),
    ).rejects.toMatchObject({ code: 'not_renewable' });
    const minted = await provider.mint(mintRequest());
    await expect(
      provider.renew(minted.handle, {
        ...mintRequest(),
        scope: { repo: 'x' } as never,
        expiresAt: later,
      }),
    ).rejects.toMatchObject({ code: 'not_renewable' });
  });
});

describe('jwt scope and ceiling', () => {
  const provider = create({ max_scopes: 3 });
  const ceiling = (scopes: string[]) => jwtCeilingSchema.parse({ scopes });

  it.each([
    [['orders:read'], ['orders:read'], true],
    [['orders:read'], ['orders:*'], true],
    [['orders:read', 'orders:refund'], ['orders:*'], true],
    [['anything/at:all'], ['*'], true],
    [['orders:read'], ['orders:write'], false],
    [['orders:rea'], ['orders:read'], false],
    [['orders'], ['orders:*'], false],
    [['billing:read'], ['orders:*'], false],
    // A requested wildcard is granted only by an identical entry: no widening.
    [['orders:*'], ['orders:*'], true],
    [['orders:*'], ['*'], false],
    [['orders:*'], ['orders:read'], false],
    [['orders:re*'], ['orders:*'], false],
    [['*'], ['*'], true],
  ])('%j within %j is %s', (scopes, entries, expected) => {
    expect(jwtWithin({ scopes }, ceiling(entries)).ok).toBe(expected);
  });

  it('names the first offending scope', () => {
    const check = jwtWithin(
      { scopes: ['orders:read', 'billing:x', 'users:y'] },
      ceiling(['orders:*']),
    );
    expect(check).toEqual({ ok: false, reason: expect.stringContaining('billing:x') });
    expect(check.ok ? '' : check.reason).not.toContain('users:y');
  });

  it('validates requests: charset, length, count and shape', () => {
    const ok = (scope: unknown) => provider.scope.safeParse(scope).success;
    expect(ok({ scopes: ['a:b/c.d_e-f*'] })).toBe(true);
    expect(ok({ scopes: ['x'.repeat(128)] })).toBe(true);
    expect(ok({ scopes: ['x'.repeat(129)] })).toBe(false);
    expect(ok({ scopes: [] })).toBe(false);
    expect(ok({ scopes: ['a', 'b', 'c', 'd'] })).toBe(false);
    expect(ok({ scopes: ['has space'] })).toBe(false);
    expect(ok({ scopes: ['quote"'] })).toBe(false);
    expect(ok({ scopes: [''] })).toBe(false);
    expect(ok({ scopes: ['a'], extra: 1 })).toBe(false);
    expect(ok(['a'])).toBe(false);
  });

  it('allows a wildcard in a ceiling only at the end', () => {
    expect(jwtCeilingSchema.safeParse({ scopes: ['orders:*'] }).success).toBe(true);
    expect(jwtCeilingSchema.safeParse({ scopes: ['*:read'] }).success).toBe(false);
    expect(jwtCeilingSchema.safeParse({ scopes: [] }).success).toBe(false);
    expect(jwtCeilingSchema.safeParse({ scopes: ['a'], more: [] }).success).toBe(false);
  });
});
