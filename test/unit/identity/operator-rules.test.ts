import type { JWTPayload } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BreakGlassConfig, OperatorIssuerConfig } from '../../../src/config/schema.js';
import { BreakGlassVerifier, generateBreakGlassToken } from '../../../src/identity/break-glass.js';
import { FailureLimiter } from '../../../src/identity/failure-limiter.js';
import { OperatorAuthenticator } from '../../../src/identity/operators.js';
import { isOperatorRole } from '../../../src/identity/roles.js';
import { MAX_TOKEN_BYTES } from '../../../src/identity/token-shape.js';
import { AuthError } from '../../../src/identity/types.js';
import {
  jwks,
  makeKey,
  OPERATOR_AUD,
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

/*
 * Operator and break-glass rules that mutation testing found unpinned: each test here fails
 * when the rule it names is weakened in src/identity.
 */

const OPS_ISS = OPERATOR_ISS;
const OPS_AUD = OPERATOR_AUD;
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

function authenticator(issuers = [operatorIssuer()]): OperatorAuthenticator {
  return new OperatorAuthenticator({ issuers, break_glass: [] }, { now: clock.now });
}

function entry(hash: string, overrides: Partial<BreakGlassConfig> = {}): BreakGlassConfig {
  return {
    name: 'incident-1',
    hash,
    role: 'admin',
    expires_at: '2999-01-01T00:00:00Z',
    ...overrides,
  };
}

function breakGlass(entries: BreakGlassConfig[]): BreakGlassVerifier {
  const now = () => 0;
  return new BreakGlassVerifier(
    entries,
    new FailureLimiter({ maxFailures: 10, windowMs: 60_000, maxSources: 10 }, now),
    now,
  );
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned token of exactly `length` characters: routing never looks at the signature. */
function unsignedOfLength(payload: Record<string, unknown>, length: number): string {
  const head = `${b64({ alg: 'ES256' })}.${b64(payload)}.`;
  return `${head}${'A'.repeat(length - head.length)}`;
}

describe('break-glass entries', () => {
  const hex = 'ab'.repeat(32);

  it('refuses a hash that is not exactly sha256:<64 lowercase hex> at start', () => {
    for (const hash of [
      `sha256:${hex.slice(1)}`,
      `sha256:${hex}0`,
      `sha256:${hex.toUpperCase()}`,
      `xsha256:${hex}`,
      hex,
    ]) {
      expect(() => breakGlass([entry(hash)]), hash).toThrow(/bad hash or expires_at/);
    }
    expect(() => breakGlass([entry(`sha256:${hex}`)])).not.toThrow();
  });

  it('refuses an unparseable expires_at at start, even with a good hash', () => {
    expect(() => breakGlass([entry(`sha256:${hex}`, { expires_at: 'next tuesday' })])).toThrow(
      TypeError,
    );
  });

  it('takes the first entry in config order when two share a hash', () => {
    const { token, hash } = generateBreakGlassToken();
    const verifier = breakGlass([
      entry(hash, { name: 'first', role: 'viewer' }),
      entry(hash, { name: 'second', role: 'admin' }),
    ]);
    expect(verifier.verify(token, 's')).toMatchObject({ name: 'first', roles: ['viewer'] });
  });

  it('refuses a token outside the exact break-glass format even when its hash is configured', () => {
    const good = generateBreakGlassToken().token;
    for (const token of [`x${good}`, `${good}x`, `${good}\n`]) {
      const verifier = breakGlass([entry(`sha256:${sha256(token)}`)]);
      expect(() => verifier.verify(token, 's'), JSON.stringify(token)).toThrow(AuthError);
    }
  });
});

describe('break-glass limiting', () => {
  it('names a limited attempt by its token hash, like any other refusal', () => {
    const now = () => 0;
    const verifier = new BreakGlassVerifier(
      [entry(generateBreakGlassToken().hash)],
      new FailureLimiter({ maxFailures: 1, windowMs: 60_000, maxSources: 10 }, now),
      now,
    );
    expect(() => verifier.verify(generateBreakGlassToken().token, 's')).toThrow(AuthError);
    const guess = generateBreakGlassToken().token;
    let limited: unknown;
    try {
      verifier.verify(guess, 's');
    } catch (err) {
      limited = err;
    }
    expect(limited).toMatchObject({ reason: 'break_glass_limited', tokenHash: sha256(guess) });
  });
});

describe('FailureLimiter', () => {
  it('forgets the least recently failed source beyond maxSources, and only then', () => {
    const limiter = new FailureLimiter(
      { maxFailures: 1, windowMs: 60_000, maxSources: 2 },
      () => 0,
    );
    limiter.recordFailure('a');
    limiter.recordFailure('b');
    expect(limiter.isLimited('a')).toBe(true);
    expect(limiter.isLimited('b')).toBe(true);
    limiter.recordFailure('c');
    expect(limiter.isLimited('a')).toBe(false);
    expect(limiter.isLimited('b')).toBe(true);
    expect(limiter.isLimited('c')).toBe(true);
  });

  it('does not spend a slot on a source that only asked', () => {
    // Otherwise a flood of clean sources would push a limited one out of memory.
    const limiter = new FailureLimiter(
      { maxFailures: 1, windowMs: 60_000, maxSources: 2 },
      () => 0,
    );
    limiter.recordFailure('a');
    for (const source of ['x', 'y', 'z']) expect(limiter.isLimited(source)).toBe(false);
    limiter.recordFailure('b');
    expect(limiter.isLimited('a')).toBe(true);
  });

  it('lets a failure go exactly one window later', () => {
    let now = 0;
    const limiter = new FailureLimiter(
      { maxFailures: 1, windowMs: 1_000, maxSources: 10 },
      () => now,
    );
    limiter.recordFailure('a');
    now = 999;
    expect(limiter.isLimited('a')).toBe(true);
    now = 1_000;
    expect(limiter.isLimited('a')).toBe(false);
  });
});

describe('operator token routing', () => {
  it('does not route a token whose aud merely contains the operator audience', () => {
    const token = unsignedOfLength(claims({ aud: `${OPS_AUD}-staging` }), 400);
    expect(authenticator().isOperatorToken(token)).toBe(false);
  });

  it('does not route a token of an unknown issuer that carries no aud', () => {
    const token = unsignedOfLength(claims({ iss: 'https://other.test', aud: undefined }), 400);
    expect(authenticator().isOperatorToken(token)).toBe(false);
  });

  it('routes a token up to the size cap and never decodes a larger one', () => {
    const at = unsignedOfLength(claims(), MAX_TOKEN_BYTES);
    const over = unsignedOfLength(claims(), MAX_TOKEN_BYTES + 1);
    expect(authenticator().isOperatorToken(at)).toBe(true);
    expect(authenticator().isOperatorToken(over)).toBe(false);
  });
});

describe('operator JWTs', () => {
  it('uses the real clock when none is given', async () => {
    const now = Math.floor(Date.now() / 1000);
    const auth = new OperatorAuthenticator({ issuers: [operatorIssuer()], break_glass: [] });
    const token = await signToken(key, claims({ iat: now, exp: now + 600 }));
    await expect(auth.authenticate(token)).resolves.toMatchObject({ name: 'alice@example.test' });
  });

  it('fetches remote keys through the fetch it is given', async () => {
    const fetched: string[] = [];
    const fetch: typeof globalThis.fetch = async (input) => {
      fetched.push(String(input));
      return new Response(JSON.stringify(jwks(key)), {
        headers: { 'content-type': 'application/json' },
      });
    };
    const auth = new OperatorAuthenticator(
      {
        issuers: [operatorIssuer({ jwks_file: undefined, jwks_uri: `${OPS_ISS}/jwks` })],
        break_glass: [],
      },
      { now: clock.now, fetch },
    );
    await expect(auth.authenticate(await signToken(key, claims()))).resolves.toMatchObject({
      roles: ['revoker'],
    });
    expect(fetched).toEqual([`${OPS_ISS}/jwks`]);
  });

  it('names the refused token by hash, issuer and subject when it grants no role', async () => {
    const token = await signToken(key, claims({ roles: ['root'] }));
    const err = (await rejectionOf(authenticator().authenticate(token))) as unknown as AuthError;
    expect(err.reason).toBe('no_role');
    expect(err).toMatchObject({
      tokenHash: sha256(token),
      issuer: 'sso',
      subject: 'alice@example.test',
    });
  });

  it('does not take a role nested in an array (no string coercion of claim values)', async () => {
    const token = await signToken(key, claims({ roles: [['admin']] }));
    const err = (await rejectionOf(authenticator().authenticate(token))) as unknown as AuthError;
    expect(err.reason).toBe('no_role');
    expect(isOperatorRole(['admin'])).toBe(false);
  });
});

describe('failure limiter under a flood', () => {
  it('keeps a bounded history per source: 200,000 failures from one address cost linear time', async () => {
    // Keeping every failure made each check scan the whole window: 40,000 guesses took over
    // a minute. The test's timeout is what catches that (the loop yields, so it can fire).
    let now = 0;
    const limiter = new FailureLimiter(
      { maxFailures: 10, windowMs: 60_000, maxSources: 100 },
      () => now,
    );
    for (let i = 0; i < 200_000; i++) {
      limiter.recordFailure('203.0.113.7');
      if (i % 1_000 === 0) {
        now += 1;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    expect(limiter.isLimited('203.0.113.7')).toBe(true);
    // The window still counts from the newest failures.
    now += 60_000;
    expect(limiter.isLimited('203.0.113.7')).toBe(false);
  });
});
