import type { JWTPayload } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BreakGlassConfig, OperatorIssuerConfig } from '../../../src/config/schema.js';
import {
  generateBreakGlassToken,
  hasRole,
  OperatorAuthenticator,
} from '../../../src/identity/operators.js';
import { AuthError, type OperatorPrincipal } from '../../../src/identity/types.js';
import {
  jwks,
  makeKey,
  OPERATOR_ISS,
  operatorClaims,
  operatorIssuerConfig,
  rejectionOf,
  sha256,
  signToken,
  TestClock,
  type TestKey,
  writeJwksFile,
} from '../../helpers/identity-support.js';

const _OPS_ISS = OPERATOR_ISS;
let key: TestKey;
let jwksPath: string;
const clock = new TestClock();

beforeAll(async () => {
  key = await makeKey('ops-1');
  jwksPath = writeJwksFile(jwks(key));
});

function operatorIssuer(overrides: Partial<OperatorIssuerConfig> = {}): OperatorIssuerConfig {
  return operatorIssuerConfig(jwksPath, overrides);
}

function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  return operatorClaims(clock, overrides);
}

function breakGlassEntry(
  hash: string,
  overrides: Partial<BreakGlassConfig> = {},
): BreakGlassConfig {
  return {
    name: 'incident-1',
    hash,
    role: 'admin',
    expires_at: new Date(clock.ms + 86_400_000).toISOString(),
    ...overrides,
  };
}

function authenticator(
  options: { issuers?: OperatorIssuerConfig[]; break_glass?: BreakGlassConfig[] } = {},
): OperatorAuthenticator {
  return new OperatorAuthenticator(
    { issuers: options.issuers ?? [operatorIssuer()], break_glass: options.break_glass ?? [] },
    { now: clock.now },
  );
}

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  const err = await rejectionOf(promise);
  expect(err).toBeInstanceOf(AuthError);
  return (err as unknown as AuthError).reason;
}

describe('operator JWTs', () => {
  it('authenticates and reads roles from an array', async () => {
    const token = await signToken(key, claims({ roles: ['viewer', 'revoker'] }));
    const principal = await authenticator().authenticate(token);
    expect(principal).toEqual({
      kind: 'operator',
      name: 'alice@example.test',
      roles: ['viewer', 'revoker'],
      via: 'jwt',
      issuer: 'sso',
      tokenHash: sha256(token),
      expiresAt: expect.any(Number),
    });
  });

  it('reads a single role string and a custom roles claim', async () => {
    const auth = authenticator({ issuers: [operatorIssuer({ roles_claim: 'jit_role' })] });
    const token = await signToken(key, claims({ roles: undefined, jit_role: 'admin' }));
    expect((await auth.authenticate(token)).roles).toEqual(['admin']);
  });

  it('keeps only known roles and refuses a token with none', async () => {
    const mixed = await signToken(key, claims({ roles: ['superuser', 'viewer', 'viewer'] }));
    expect((await authenticator().authenticate(mixed)).roles).toEqual(['viewer']);
    for (const roles of [undefined, [], ['superuser'], 'root', { admin: true }]) {
      const token = await signToken(key, claims({ roles }));
      expect(await reasonOf(authenticator().authenticate(token))).toBe('no_role');
    }
  });

  it('refuses a workload-audience token at the operator door', async () => {
    const token = await signToken(key, claims({ aud: 'jit-broker' }));
    expect(await reasonOf(authenticator().authenticate(token))).toBe('audience_mismatch');
  });

  it('runs the shared verification rules (expiry, issuer)', async () => {
    const expired = await signToken(key, claims({ exp: clock.seconds - 60 }));
    expect(await reasonOf(authenticator().authenticate(expired))).toBe('expired');
    const foreign = await signToken(key, claims({ iss: 'https://other.test' }));
    expect(await reasonOf(authenticator().authenticate(foreign))).toBe('unknown_issuer');
  });
});

describe('isOperatorToken', () => {
  it('recognises operator JWTs by unverified iss and aud', async () => {
    const auth = authenticator();
    expect(auth.isOperatorToken(await signToken(key, claims()))).toBe(true);
    expect(
      auth.isOperatorToken(await signToken(key, claims({ aud: ['x', 'jit-broker-operators'] }))),
    ).toBe(true);
    expect(auth.isOperatorToken(await signToken(key, claims({ aud: 'jit-broker' })))).toBe(false);
    expect(auth.isOperatorToken(await signToken(key, claims({ iss: 'https://idp.test' })))).toBe(
      false,
    );
  });

  it('recognises break-glass tokens and refuses garbage', () => {
    const auth = authenticator();
    expect(auth.isOperatorToken(generateBreakGlassToken().token)).toBe(true);
    expect(auth.isOperatorToken('not-a-token')).toBe(false);
    expect(auth.isOperatorToken('a.b.c')).toBe(false);
    expect(auth.isOperatorToken('')).toBe(false);
  });
});

describe('break-glass tokens', () => {
  it('generates 256-bit tokens with a matching sha256 hash', () => {
    const { token, hash } = generateBreakGlassToken();
    expect(token).toMatch(/^jbg_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token.slice(4), 'base64url')).toHaveLength(32);
    expect(hash).toBe(`sha256:${sha256(token)}`);
    expect(generateBreakGlassToken().token).not.toBe(token);
  });

  it('authenticates a valid token with its entry role', async () => {
    const { token, hash } = generateBreakGlassToken();
    const other = generateBreakGlassToken();
    const auth = authenticator({
      break_glass: [
        breakGlassEntry(other.hash, { name: 'other' }),
        breakGlassEntry(hash, { role: 'revoker' }),
      ],
    });
    expect(await auth.authenticate(token, '10.0.0.1')).toEqual({
      kind: 'operator',
      name: 'incident-1',
      roles: ['revoker'],
      via: 'break_glass',
      tokenHash: sha256(token),
      expiresAt: expect.any(Number),
    });
  });

  it('refuses a wrong token', async () => {
    const auth = authenticator({ break_glass: [breakGlassEntry(generateBreakGlassToken().hash)] });
    const wrong = generateBreakGlassToken().token;
    const err = (await rejectionOf(auth.authenticate(wrong, 's'))) as unknown as AuthError;
    expect(err.reason).toBe('break_glass_invalid');
    expect(err.message).not.toContain(wrong);
    expect(err.tokenHash).toBe(sha256(wrong));
  });

  it('refuses an expired entry, and accepts it just before', async () => {
    const { token, hash } = generateBreakGlassToken();
    const expiresAt = new Date(clock.ms + 1000).toISOString();
    const auth = authenticator({ break_glass: [breakGlassEntry(hash, { expires_at: expiresAt })] });
    await expect(auth.authenticate(token, 's')).resolves.toMatchObject({ via: 'break_glass' });
    clock.advance(1000);
    try {
      expect(await reasonOf(auth.authenticate(token, 's'))).toBe('break_glass_invalid');
    } finally {
      clock.advance(-1000);
    }
  });

  it('refuses a configured hash whose token is not in break-glass format', async () => {
    const token = 'jbg_short';
    const auth = authenticator({ break_glass: [breakGlassEntry(`sha256:${sha256(token)}`)] });
    expect(await reasonOf(auth.authenticate(token, 's'))).toBe('break_glass_invalid');
  });

  it('limits a source after 10 failures a minute, per source, but never refuses the right token', async () => {
    const { token, hash } = generateBreakGlassToken();
    const auth = authenticator({ break_glass: [breakGlassEntry(hash)] });
    for (let i = 0; i < 10; i++) {
      await rejectionOf(auth.authenticate(generateBreakGlassToken().token, '203.0.113.7'));
    }
    // Wrong tokens from that source are now refused as limited…
    const limited = (await rejectionOf(
      auth.authenticate(generateBreakGlassToken().token, '203.0.113.7'),
    )) as unknown as AuthError;
    expect(limited.reason).toBe('break_glass_limited');
    expect(limited.message).toContain('too many');
    // …but the right token still works from it: guesses cannot lock the on-call engineer out.
    await expect(auth.authenticate(token, '203.0.113.7')).resolves.toMatchObject({
      name: 'incident-1',
    });
    // Another source is unaffected.
    const other = (await rejectionOf(
      auth.authenticate('jbg_x', '198.51.100.1'),
    )) as unknown as AuthError;
    expect(other.reason).toBe('break_glass_invalid');
    clock.advance(60_001);
    try {
      const later = (await rejectionOf(
        auth.authenticate('jbg_y', '203.0.113.7'),
      )) as unknown as AuthError;
      expect(later.reason).toBe('break_glass_invalid');
    } finally {
      clock.advance(-60_001);
    }
  });

  it('allows nine failures before a success', async () => {
    const { token, hash } = generateBreakGlassToken();
    const auth = authenticator({ break_glass: [breakGlassEntry(hash)] });
    for (let i = 0; i < 9; i++) await rejectionOf(auth.authenticate('jbg_x', 'src'));
    await expect(auth.authenticate(token, 'src')).resolves.toBeDefined();
  });
});

describe('hasRole', () => {
  const principal = (roles: OperatorPrincipal['roles']): OperatorPrincipal => ({
    kind: 'operator',
    name: 'n',
    expiresAt: Date.now() + 60_000,
    roles,
    via: 'jwt',
    tokenHash: 'h',
  });

  it('orders admin ⊇ revoker ⊇ viewer', () => {
    expect(hasRole(principal(['admin']), 'viewer')).toBe(true);
    expect(hasRole(principal(['admin']), 'revoker')).toBe(true);
    expect(hasRole(principal(['admin']), 'admin')).toBe(true);
    expect(hasRole(principal(['revoker']), 'viewer')).toBe(true);
    expect(hasRole(principal(['revoker']), 'admin')).toBe(false);
    expect(hasRole(principal(['viewer']), 'revoker')).toBe(false);
    expect(hasRole(principal([]), 'viewer')).toBe(false);
  });
});
