import {
  CompactEncrypt,
  type CryptoKey,
  exportSPKI,
  importJWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import {
  sha256,
  signRaw,
  signToken,
  TestServer,
  unsignedToken,
} from '../helpers/identity-support.js';
import {
  eventMatching,
  type ProfileIssuers,
  profileIssuers,
  TRUST_DOMAIN,
} from '../helpers/profile-issuers.js';

const REQUEST = {
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: 'task-1', intent: 'triage' },
};

let h: Harness;
let issuers: ProfileIssuers;
let attacker: TestServer;
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  issuers = await profileIssuers();
  attacker = await new TestServer().start();
  attacker.json('/jwks', () => ({ keys: [issuers.task.jwk] }));
  h = await startHarness({ configure: (raw) => issuers.configure(raw) });
});

afterAll(async () => {
  await h.close();
  await attacker.stop();
  issuers.remove();
});

/** Every attack: a 401, an auth.failed event with the reason and the token hash, no token. */
async function expectRefused(token: string, reason: string): Promise<void> {
  const res = await h.request('/v1/credentials', { method: 'POST', token, json: REQUEST });
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toContain('Bearer');
  const body = (await res.json()) as { code: string; request_id: string };
  expect(body.code).toBe('invalid_token');
  const event = await eventMatching(
    () => h.events.events,
    (e) => e.type === 'auth.failed' && e.request_id === body.request_id,
  );
  expect(event).toMatchObject({ type: 'auth.failed', reason, token_sha256: sha256(token) });
  expect(h.events.text).not.toContain(token);
  expect(h.logs.text).not.toContain(token);
  expect(JSON.stringify(body)).not.toContain(token);
}

const plain = () => issuers.plain;

describe('the JWT attack battery over HTTP (POST /v1/credentials)', () => {
  it('accepts the honest token the attacks are built from', async () => {
    const token = await signToken(plain(), issuers.plainClaims());
    const res = await h.request('/v1/credentials', { method: 'POST', token, json: REQUEST });
    expect(res.status).toBe(201);
  });

  it.each(['none', 'None', 'NONE', 'nOnE'])('alg %s', async (alg) => {
    await expectRefused(unsignedToken({ alg }, issuers.plainClaims()), 'algorithm_not_allowed');
    await expectRefused(
      await signRaw(plain(), { alg, kid: 'plain-1' }, issuers.plainClaims()),
      'algorithm_not_allowed',
    );
  });

  it('HS256 signed with the issuer public key', async () => {
    const pem = await exportSPKI((await importJWK(plain().jwk, 'ES256')) as CryptoKey);
    const token = await new SignJWT(issuers.plainClaims())
      .setProtectedHeader({ alg: 'HS256', kid: 'plain-1' })
      .sign(new TextEncoder().encode(pem));
    await expectRefused(token, 'algorithm_not_allowed');
  });

  it.each([
    ['unknown', 'plain-2'],
    ['path injection', '../../../../../etc/passwd'],
    ['SQL injection', "plain-1' OR '1'='1' --"],
  ])('kid: %s', async (_name, kid) => {
    await expectRefused(await signToken({ ...plain(), kid }, issuers.plainClaims()), 'unknown_key');
  });

  it.each([
    ['jku', (origin: string) => `${origin}/jwks`],
    ['x5u', (origin: string) => `${origin}/cert.pem`],
    ['jwk', () => issuers.task.jwk],
    ['x5c', () => ['MIIBszCCAVmgAwIBAgIUV']],
  ])('%s header pointing at attacker keys, with no fetch', async (name, value) => {
    const token = await signToken({ ...issuers.task, kid: 'plain-1' }, issuers.plainClaims(), {
      [name]: value(attacker.origin),
    });
    await expectRefused(token, 'forbidden_header');
    expect(attacker.totalHits()).toBe(0);
  });

  it('unknown crit, and b64: false', async () => {
    const header = { alg: 'ES256', kid: 'plain-1' };
    await expectRefused(
      await signRaw(
        plain(),
        { ...header, crit: ['x-unknown'], 'x-unknown': 1 },
        issuers.plainClaims(),
      ),
      'forbidden_header',
    );
    await expectRefused(
      await signRaw(plain(), { ...header, b64: false, crit: ['b64'] }, issuers.plainClaims()),
      'forbidden_header',
    );
  });

  it('expired, at exactly the clock-tolerance boundary', async () => {
    await expectRefused(
      await signToken(plain(), issuers.plainClaims({ exp: now() - 30 })),
      'expired',
    );
  });

  it('nbf and iat in the future', async () => {
    await expectRefused(
      await signToken(plain(), issuers.plainClaims({ nbf: now() + 120 })),
      'not_yet_valid',
    );
    await expectRefused(
      await signToken(plain(), issuers.plainClaims({ iat: now() + 120 })),
      'not_yet_valid',
    );
  });

  it('missing exp, and claims of the wrong type', async () => {
    await expectRefused(
      await signToken(plain(), issuers.plainClaims({ exp: undefined })),
      'claim_invalid',
    );
    await expectRefused(
      await signRaw(
        plain(),
        { alg: 'ES256', kid: 'plain-1' },
        issuers.plainClaims({ exp: `${now() + 300}` }),
      ),
      'claim_invalid',
    );
    await expectRefused(
      await signRaw(
        plain(),
        { alg: 'ES256', kid: 'plain-1' },
        issuers.plainClaims({ sub: ['agent-x'] }),
      ),
      'claim_invalid',
    );
  });

  it('aud wrong, missing, and multi-valued where one is required (JWT-SVID)', async () => {
    await expectRefused(
      await signToken(plain(), issuers.plainClaims({ aud: 'another-service' })),
      'audience_mismatch',
    );
    await expectRefused(
      await signToken(plain(), issuers.plainClaims({ aud: undefined })),
      'audience_mismatch',
    );
    await expectRefused(
      await issuers.svid({ aud: ['jit-broker', 'reports'] }),
      'audience_mismatch',
    );
  });

  it('wrong iss', async () => {
    await expectRefused(
      await signToken(plain(), issuers.plainClaims({ iss: 'https://evil.example' })),
      'unknown_issuer',
    );
    // A trusted iss with another issuer's key.
    await expectRefused(
      await signToken({ ...issuers.k8s, kid: 'plain-1' }, issuers.plainClaims()),
      'bad_signature',
    );
  });

  it('stripped signature', async () => {
    const token = await signToken(plain(), issuers.plainClaims());
    await expectRefused(`${token.slice(0, token.lastIndexOf('.'))}.`, 'bad_signature');
  });

  it('a 1 MiB token', async () => {
    const token = `${unsignedToken({ alg: 'ES256' }, issuers.plainClaims())}${'A'.repeat(1024 * 1024)}`;
    const res = await h.request('/v1/credentials', { method: 'POST', token, json: REQUEST });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { request_id: string };
    const event = await eventMatching(
      () => h.events.events,
      (e) => e.type === 'auth.failed' && e.request_id === body.request_id,
    );
    expect(event?.reason).toBe('too_large');
    expect(h.events.text).not.toContain(token.slice(0, 2048));
    expect(h.logs.text).not.toContain(token.slice(0, 2048));
  });

  it('a JWE', async () => {
    const jwe = await new CompactEncrypt(
      new TextEncoder().encode(JSON.stringify(issuers.plainClaims())),
    )
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .encrypt(new Uint8Array(32));
    await expectRefused(jwe, 'unsupported_token');
  });

  it('a nested JWT', async () => {
    const inner = await signToken(plain(), issuers.plainClaims());
    const nested = await signRaw(
      plain(),
      { alg: 'ES256', kid: 'plain-1', cty: 'JWT' },
      inner as unknown as JWTPayload,
    );
    await expectRefused(nested, 'forbidden_header');
  });

  it('a trusted issuer, but a subject that maps to no workload', async () => {
    await expectRefused(
      await signToken(plain(), issuers.plainClaims({ sub: 'agent-y' })),
      'no_workload',
    );
    await expectRefused(
      await issuers.svid({ sub: `spiffe://${TRUST_DOMAIN}/other/x` }),
      'no_workload',
    );
  });

  it('a token of one profile offered as another', async () => {
    // A GitHub Actions token re-signed under the cluster issuer lacks the kubernetes.io claims.
    const asK8s = await signToken(issuers.k8s, {
      ...issuers.plainClaims({
        iss: 'https://oidc.cluster.test.example',
        sub: 'system:serviceaccount:agents:x',
      }),
      repository_id: '123456',
    });
    await expectRefused(asK8s, 'claim_invalid');
  });
});
