import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { ID_JAG, idJagClaims, signIdJag } from '../helpers/id-jag.js';
import {
  jwks,
  makeKey,
  sha256,
  type TestKey,
  unsignedToken,
  writeJwksFile,
} from '../helpers/identity-support.js';
import { jwtTargetConfig } from '../helpers/jwt-target-config.js';
import { REDIS_URL, redisAvailable, requireService } from '../helpers/services.js';

const BROKER = ID_JAG.broker;
const IDP = ID_JAG.idp;
const FILES = ID_JAG.resource;
const USER = ID_JAG.user;
const CLIENT_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

let h: Harness | undefined;
let idpKey: TestKey;
let rsaKey: TestKey;
let strangerKey: TestKey;
let jwksFile: string;

beforeAll(async () => {
  // The one-time `jti` cache is Redis's, shared by every replica.
  if (!(await requireService('redis', await redisAvailable()))) return;
  idpKey = await makeKey('idp-es', 'ES256');
  rsaKey = await makeKey('idp-rs', 'RS256');
  strangerKey = await makeKey('idp-es', 'ES256');
  jwksFile = writeJwksFile(jwks(idpKey, rsaKey));
  const files = await jwtTargetConfig('files', FILES, 'f1', { resource_servers: ['agent-b'] });
  h = await startHarness({
    store: 'redis',
    configure(raw) {
      (raw.targets as unknown[]).push(files);
      (raw.policies as unknown[]).push({
        name: 'acme-users-files',
        workloads: ['agent-a', 'agent-b'],
        target: 'files',
        allow: { scopes: ['files:read', 'files:write'] },
        intents: ['triage'],
        default_ttl: '2m',
        max_ttl: '5m',
        require_actor: true,
        when: `actor.issuer == '${IDP}' && actor.subject.startsWith('U0')`,
      });
      raw.resources = [
        { uri: FILES, target: 'files', scopes: ['files:read', 'files:write'] },
        { uri: 'https://tickets.test.example', target: 'tickets' },
      ];
      raw.enterprise_idps = [
        { name: 'acme', issuer: IDP, jwks_file: jwksFile, algorithms: ['ES256'] },
      ];
    },
  });
});

afterAll(async () => {
  await h?.close();
  if (jwksFile) rmSync(jwksFile, { force: true });
});

function broker(ctx: { skip: () => void }): Harness {
  if (!h) ctx.skip();
  return h as Harness;
}

/** An ID-JAG from the test IdP. */
function idJag(
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
  key: TestKey = idpKey,
): Promise<string> {
  return signIdJag(key, claims, header);
}

/** The grant's claims under a header the IdP never signs with, and no real signature. */
function unsignedJag(header: Record<string, unknown>): Promise<string> {
  return Promise.resolve(
    unsignedToken({ typ: 'oauth-id-jag+jwt', ...header }, idJagClaims({ scope: 'files:read' })),
  );
}

/** Signed by a stranger who puts the matching public key in the header (`jwk`). */
function selfKeyedJag(): Promise<string> {
  return idJag({}, { jwk: strangerKey.jwk }, strangerKey);
}

async function redeem(
  hx: Harness,
  assertion: string,
  extra: Record<string, string | undefined> = {},
  client = 'spiffe://test/agent-a',
): Promise<Response> {
  const fields: Record<string, string | undefined> = {
    grant_type: JWT_BEARER,
    assertion,
    client_assertion_type: CLIENT_ASSERTION,
    client_assertion: await hx.workloadToken(client),
    task_id: 'task-jag',
    task_intent: 'triage',
    ...extra,
  };
  const body = new URLSearchParams(
    Object.entries(fields).filter((e): e is [string, string] => e[1] !== undefined),
  );
  return hx.request('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: body.toString(),
  });
}

async function expectError(res: Response, status: number, error: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as Record<string, string>;
  expect(body.error).toBe(error);
  return body;
}

/** The `auth.failed` event for `token`, which carries its hash and never the token. */
async function refusal(hx: Harness, token: string) {
  const events = await hx.flushedEvents();
  expect(hx.events.text).not.toContain(token);
  expect(hx.logs.text).not.toContain(token);
  return events.find((e) => e.type === 'auth.failed' && e.token_sha256 === sha256(token));
}

describe('ID-JAG redemption', () => {
  it('issues a token for the resource, the user as the lease actor, the scopes both asked and asserted', async (ctx) => {
    const hx = broker(ctx);
    const res = await redeem(hx, await idJag(), { scope: 'files:read files:delete' });
    // files:delete is not asserted, so only files:read remains.
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.token_type).toBe('Bearer');
    expect(body.scope).toBe('files:read');
    const claims = decodeJwt(body.access_token as string);
    expect(claims.aud).toBe(FILES);
    expect(claims.client_id).toBe('agent-a');
    expect(claims.act).toMatchObject({ act: { sub: USER, iss: IDP } });
    const lease = await hx.request(`/v1/leases/${body.lease_id as string}`, {
      token: await hx.operatorToken(['viewer']),
    });
    expect(await lease.json()).toMatchObject({ actor: USER, workload: 'agent-a' });
  });

  it('grants every asserted scope when the request names none', async (ctx) => {
    const hx = broker(ctx);
    const res = await redeem(hx, await idJag());
    expect(res.status).toBe(200);
    expect(((await res.json()) as { scope: string }).scope).toBe('files:read files:write');
  });

  it('grants nothing when no requested scope is asserted, or the grant asserts none', async (ctx) => {
    const hx = broker(ctx);
    await expectError(
      await redeem(hx, await idJag({ scope: 'files:read' }), { scope: 'files:write' }),
      400,
      'invalid_scope',
    );
    await expectError(
      await redeem(hx, await idJag({ scope: undefined }), { scope: 'files:read' }),
      400,
      'invalid_scope',
    );
  });

  it('lets policy decide on the user: another user is refused', async (ctx) => {
    const hx = broker(ctx);
    await expectError(
      await redeem(hx, await idJag({ sub: 'X-intruder' })),
      400,
      'unauthorized_client',
    );
  });

  it('refuses a replayed grant: the jti is spent in Redis', async (ctx) => {
    const hx = broker(ctx);
    const grant = await idJag();
    expect((await redeem(hx, grant)).status).toBe(200);
    await expectError(await redeem(hx, grant), 400, 'invalid_grant');
    // The SIEM sees whose grant it was: the IdP's name and the user, and the grant's hash.
    expect(await refusal(hx, grant)).toMatchObject({
      reason: 'replayed',
      issuer: 'acme',
      subject: USER,
      detail: { path: '/oauth/token', parameter: 'assertion' },
    });
  });

  it.for<[string, () => Promise<string>, string]>([
    ['another client', () => idJag({ client_id: 'agent-b' }), 'client_mismatch'],
    [
      'another audience',
      () => idJag({ aud: 'https://other-as.test.example' }),
      'audience_mismatch',
    ],
    [
      'two audiences',
      () => idJag({ aud: [BROKER, 'https://other-as.test.example'] }),
      'audience_mismatch',
    ],
    [
      'the token endpoint as audience',
      () => idJag({ aud: `${BROKER}/oauth/token` }),
      'audience_mismatch',
    ],
    ['a wrong typ', () => idJag({}, { typ: 'JWT' }), 'forbidden_header'],
    ['an access-token typ', () => idJag({}, { typ: 'at+jwt' }), 'forbidden_header'],
    ['no jti', () => idJag({ jti: undefined }), 'claim_invalid'],
    ['an empty jti', () => idJag({ jti: '' }), 'claim_invalid'],
    ['no client_id', () => idJag({ client_id: undefined }), 'claim_invalid'],
    ['no resource', () => idJag({ resource: undefined }), 'claim_invalid'],
    ['a disallowed algorithm', () => idJag({}, {}, rsaKey), 'algorithm_not_allowed'],
    ['an unknown IdP', () => idJag({ iss: 'https://stranger.test.example' }), 'unknown_issuer'],
    ['a key the IdP does not publish', () => idJag({}, {}, strangerKey), 'bad_signature'],
    ['no signature (alg none)', () => unsignedJag({ alg: 'none' }), 'algorithm_not_allowed'],
    ['a symmetric algorithm', () => unsignedJag({ alg: 'HS256' }), 'algorithm_not_allowed'],
    ['a key carried in its own header', () => selfKeyedJag(), 'forbidden_header'],
    ['an expired grant', () => idJag({ exp: Math.floor(Date.now() / 1000) - 120 }), 'expired'],
    ['an old grant', () => idJag({ iat: Math.floor(Date.now() / 1000) - 3600 }), 'too_old'],
  ])('refuses %s: invalid_grant and an auth.failed event', async ([, make, reason], ctx) => {
    const hx = broker(ctx);
    const grant = await make();
    await expectError(await redeem(hx, grant), 400, 'invalid_grant');
    expect((await refusal(hx, grant))?.reason).toBe(reason);
  });

  it('refuses a grant for a resource the broker does not serve, or another than the request names', async (ctx) => {
    const hx = broker(ctx);
    const foreign = await idJag({ resource: 'https://unknown.test.example' });
    await expectError(await redeem(hx, foreign), 400, 'invalid_target');
    expect((await refusal(hx, foreign))?.reason).toBe('claim_invalid');
    const other = await idJag();
    await expectError(
      await redeem(hx, other, { resource: 'https://tickets.test.example' }),
      400,
      'invalid_target',
    );
    expect((await refusal(hx, other))?.reason).toBe('claim_invalid');
    // Naming the same resource is fine.
    expect((await redeem(hx, await idJag(), { resource: FILES })).status).toBe(200);
  });

  it('needs the client authenticated, and the client the grant names', async (ctx) => {
    const hx = broker(ctx);
    const grant = await idJag();
    await expectError(
      await redeem(hx, grant, { client_assertion: undefined, client_assertion_type: undefined }),
      401,
      'invalid_client',
    );
    // A client that the grant does not name, authenticated, is refused too.
    const forB = await idJag();
    await expectError(await redeem(hx, forB, {}, 'spiffe://test/agent-b'), 400, 'invalid_grant');
    expect((await refusal(hx, forB))?.reason).toBe('client_mismatch');
    // Refused before its jti was spent: the client it names can still redeem it.
    expect((await redeem(hx, forB)).status).toBe(200);
  });

  it('refuses repeated parameters', async (ctx) => {
    const hx = broker(ctx);
    const body = new URLSearchParams({
      grant_type: JWT_BEARER,
      assertion: await idJag(),
      client_assertion_type: CLIENT_ASSERTION,
      client_assertion: await hx.workloadToken('spiffe://test/agent-a'),
      task_id: 'task-jag',
      task_intent: 'triage',
      resource: FILES,
    });
    body.append('resource', FILES);
    const res = await hx.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
    });
    await expectError(res, 400, 'invalid_request');
  });

  it('advertises the ID-JAG profile in the metadata', async (ctx) => {
    const hx = broker(ctx);
    const res = await hx.request('/.well-known/oauth-authorization-server');
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc.authorization_grant_profiles_supported).toEqual([
      'urn:ietf:params:oauth:grant-profile:id-jag',
    ]);
    expect(doc.scopes_supported).toEqual(['files:read', 'files:write']);
  });

  it('remembers a spent jti no longer than the grant could pass (max_token_age bounds a far exp)', async (ctx) => {
    const hx = broker(ctx);
    const jti = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    expect((await redeem(hx, await idJag({ jti, exp: now + 86_400 }))).status).toBe(200);
    const redis = new Redis(REDIS_URL);
    try {
      const key = `${hx.config.redis.key_prefix}:jti:${sha256(`${IDP}\u0000${jti}`)}`;
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(600_000 + 30_000);
    } finally {
      redis.disconnect();
    }
  });

  it('gives a token that only its resource’s servers see as active', async (ctx) => {
    const hx = broker(ctx);
    const res = await redeem(hx, await idJag());
    const { access_token: token } = (await res.json()) as { access_token: string };
    const introspect = async (subject: string) => {
      const answer = await hx.request('/v1/introspect', {
        method: 'POST',
        token: await hx.workloadToken(subject),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
      });
      return ((await answer.json()) as { active: boolean }).active;
    };
    expect(await introspect('spiffe://test/agent-b')).toBe(true);
    // The tickets resource's server: a token for another resource is not active for it.
    expect(await introspect('spiffe://test/tickets-api')).toBe(false);
  });
});
