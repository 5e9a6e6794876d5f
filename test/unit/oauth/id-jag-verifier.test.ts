import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enterpriseIdpSchema } from '../../../src/config/schema.js';
import { IdJagVerifier, isIdJagHeader } from '../../../src/identity/id-jag.js';
import { MemoryReplayGuard } from '../../../src/identity/replay-guard.js';
import { AuthError } from '../../../src/identity/types.js';
import {
  jwks,
  makeKey,
  signToken,
  type TestKey,
  writeJwksFile,
} from '../../helpers/identity-support.js';

const BROKER = 'https://broker.example';
const IDP = 'https://idp.example';
let key: TestKey;
let file: string;
let verifier: IdJagVerifier;

beforeAll(async () => {
  key = await makeKey('k1');
  file = writeJwksFile(jwks(key));
  verifier = new IdJagVerifier(
    [
      enterpriseIdpSchema.parse({
        name: 'idp',
        issuer: IDP,
        jwks_file: file,
        algorithms: ['ES256'],
      }),
    ],
    BROKER,
    { replayGuard: new MemoryReplayGuard() },
  );
});
afterAll(() => rmSync(file, { force: true }));

function grant(claims: JWTPayload = {}, typ = 'oauth-id-jag+jwt'): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signToken(
    key,
    {
      iss: IDP,
      sub: 'user-1',
      aud: BROKER,
      client_id: 'client-a',
      jti: randomUUID(),
      iat: now,
      exp: now + 60,
      resource: 'https://mcp.example/mcp',
      scope: 'read  write',
      ...claims,
    },
    { typ },
  );
}

async function reason(token: Promise<string>, client = 'client-a'): Promise<string> {
  const err = await verifier.verify(await token, client).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthError);
  return (err as AuthError).reason;
}

describe('IdJagVerifier', () => {
  it('returns the user, the resource and the asserted scopes', async () => {
    const verified = await verifier.verify(await grant(), 'client-a');
    expect(verified.user).toMatchObject({ subject: 'user-1', iss: IDP, issuer: 'idp' });
    expect(verified.resource).toBe('https://mcp.example/mcp');
    expect(verified.scopes).toEqual(['read', 'write']);
  });

  it('takes the typ with or without application/, in any case', async () => {
    for (const typ of ['application/oauth-id-jag+jwt', 'OAuth-ID-JAG+JWT']) {
      await expect(verifier.verify(await grant({}, typ), 'client-a')).resolves.toBeDefined();
    }
    expect(isIdJagHeader({ typ: 'jwt' })).toBe(false);
    expect(isIdJagHeader({})).toBe(false);
  });

  it('refuses by reason', async () => {
    expect(await reason(grant(), 'client-b')).toBe('client_mismatch');
    expect(await reason(grant({}, 'JWT'))).toBe('forbidden_header');
    expect(await reason(grant({ aud: `${BROKER}/` }))).toBe('audience_mismatch');
    expect(await reason(grant({ scope: ['read'] as unknown as string }))).toBe('claim_invalid');
    expect(await reason(grant({ resource: ['a', 'b'] as unknown as string }))).toBe(
      'claim_invalid',
    );
    expect(await reason(grant({ client_id: 7 as unknown as string }))).toBe('claim_invalid');
    const once = await grant();
    await verifier.verify(once, 'client-a');
    expect(await reason(Promise.resolve(once))).toBe('replayed');
  });

  it('will not run without a replay guard, and says which setting needs it', () => {
    expect(
      () =>
        new IdJagVerifier(
          [enterpriseIdpSchema.parse({ name: 'idp', issuer: IDP, jwks_file: file })],
          BROKER,
        ),
    ).toThrow(/replay guard/);
    expect(new IdJagVerifier([], BROKER).configured).toBe(false);
  });
});
