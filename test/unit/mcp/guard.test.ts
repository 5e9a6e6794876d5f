import { beforeEach, describe, expect, it } from 'vitest';
import type { Refusal } from '../../../src/mcp/index.js';
import {
  brokerWithKey,
  challengeParams,
  type FakeBroker,
  ISSUER,
  mcpRequest,
  RESOURCE,
  type SigningKey,
  signingKey,
} from './support.js';

const METADATA_URL = 'https://mcp.test.example/.well-known/oauth-protected-resource/mcp';

let broker: FakeBroker;
let key: SigningKey;

beforeEach(async () => {
  ({ broker, key } = await brokerWithKey());
});

async function refusedWith(
  token: string | undefined,
  status: number,
  reason: Refusal['reason'],
  headers: Record<string, string> = {},
) {
  const refusals: Refusal[] = [];
  const guard = broker.guard({ onRefusal: (r) => refusals.push(r) });
  const outcome = await guard.check(mcpRequest(token, headers));
  expect(outcome.kind).toBe('response');
  if (outcome.kind !== 'response') throw new Error('unreachable');
  expect(outcome.response.status).toBe(status);
  expect(refusals.map((r) => r.reason)).toEqual([reason]);
  // Nothing the guard answers or reports carries the token.
  const body = await outcome.response.text();
  if (token !== undefined) {
    expect(body).not.toContain(token);
    expect(JSON.stringify([...outcome.response.headers])).not.toContain(token);
    expect(JSON.stringify(refusals)).not.toContain(token);
  }
  return { response: outcome.response, body, refusals };
}

describe('protected-resource metadata (RFC 9728)', () => {
  it.each([METADATA_URL, 'https://mcp.test.example/.well-known/oauth-protected-resource'])(
    'serves %s without a token, naming the broker',
    async (url) => {
      const outcome = await broker
        .guard()
        .check(new Request(url, { headers: { origin: 'https://evil.example' } }));
      expect(outcome.kind).toBe('response');
      if (outcome.kind !== 'response') return;
      expect(outcome.response.status).toBe(200);
      expect(await outcome.response.json()).toEqual({
        resource: RESOURCE,
        authorization_servers: [ISSUER],
        scopes_supported: ['files:read'],
        bearer_methods_supported: ['header'],
        resource_signing_alg_values_supported: ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'],
      });
    },
  );

  it('a POST to the metadata path is not served as metadata', async () => {
    const outcome = await broker.guard().check(new Request(METADATA_URL, { method: 'POST' }));
    expect(outcome.kind === 'response' && outcome.response.status).toBe(401);
  });
});

describe('the 401 challenge', () => {
  it('no token: 401 naming the metadata and the needed scope, no error code', async () => {
    const { response } = await refusedWith(undefined, 401, 'no_token');
    const params = challengeParams(response.headers.get('www-authenticate'));
    expect(params).toEqual({ resource_metadata: METADATA_URL, scope: 'files:read' });
  });

  it('a non-bearer Authorization header is 401', async () => {
    const guard = broker.guard();
    const outcome = await guard.check(mcpRequest(undefined, { authorization: 'Basic YTpi' }));
    expect(outcome.kind === 'response' && outcome.response.status).toBe(401);
  });
});

describe('a valid token', () => {
  it('hands over the verified caller', async () => {
    const token = await broker.token(key, { scope: 'files:read other' });
    const outcome = await broker.guard().check(mcpRequest(token));
    expect(outcome.kind).toBe('caller');
    if (outcome.kind !== 'caller') return;
    expect(outcome.caller).toMatchObject({
      subject: 'agent-a',
      clientId: 'agent-a',
      scopes: ['files:read', 'other'],
      leaseId: 'lse_test1',
      resource: RESOURCE,
      token,
    });
    expect(broker.introspections).toBe(1);
  });

  it('passes an allow-listed Origin', async () => {
    const token = await broker.token(key);
    const outcome = await broker
      .guard()
      .check(mcpRequest(token, { origin: 'https://app.test.example' }));
    expect(outcome.kind).toBe('caller');
  });
});

describe('refusals', () => {
  it('a token for another resource', async () => {
    const token = await broker.token(key, { aud: 'https://other.test.example/mcp' });
    const { response } = await refusedWith(token, 401, 'wrong_audience');
    expect(challengeParams(response.headers.get('www-authenticate'))).toMatchObject({
      error: 'invalid_token',
      resource_metadata: METADATA_URL,
    });
  });

  it('a token for this resource and another one too', async () => {
    const token = await broker.token(key, { aud: [RESOURCE, 'https://other.test.example/mcp'] });
    await refusedWith(token, 401, 'wrong_audience');
  });

  it('a token whose audience differs only by a trailing slash', async () => {
    const token = await broker.token(key, { aud: `${RESOURCE}/` });
    await refusedWith(token, 401, 'wrong_audience');
  });

  it('an expired token', async () => {
    const token = await broker.token(key, { exp: broker.clock.seconds - 60 });
    await refusedWith(token, 401, 'expired');
  });

  it('a revoked token', async () => {
    const token = await broker.token(key);
    broker.revoked.add('lse_test1');
    await refusedWith(token, 401, 'revoked');
  });

  it('a token without the needed scope: 403 insufficient_scope naming it', async () => {
    const token = await broker.token(key, { scope: 'files:write' });
    const { response } = await refusedWith(token, 403, 'insufficient_scope');
    expect(challengeParams(response.headers.get('www-authenticate'))).toMatchObject({
      error: 'insufficient_scope',
      scope: 'files:read',
      resource_metadata: METADATA_URL,
    });
  });

  it('a token with no scope claim at all', async () => {
    const token = await broker.token(key, { scope: undefined });
    await refusedWith(token, 403, 'insufficient_scope');
  });

  it('a foreign Origin, even with a valid token', async () => {
    const token = await broker.token(key);
    const { body } = await refusedWith(token, 403, 'foreign_origin', {
      origin: 'https://evil.example',
    });
    expect(JSON.parse(body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
    expect(broker.introspections).toBe(0);
  });

  it('the opaque origin "null"', async () => {
    await refusedWith(await broker.token(key), 403, 'foreign_origin', { origin: 'null' });
  });

  it('a foreign Host (a rebound DNS name)', async () => {
    await refusedWith(await broker.token(key), 403, 'foreign_host', { host: 'evil.example' });
  });

  it('a bad signature (another key under the same kid)', async () => {
    const impostor = await signingKey('k1');
    await refusedWith(await broker.token(impostor), 401, 'bad_signature');
  });

  it('a key the broker does not publish', async () => {
    const unknown = await signingKey('k9');
    await refusedWith(await broker.token(unknown), 401, 'bad_signature');
  });

  it('alg none', async () => {
    const valid = await broker.token(key);
    const [, payload] = valid.split('.');
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString(
      'base64url',
    );
    await refusedWith(`${header}.${payload}.`, 401, 'malformed');
    await refusedWith(`${header}.${payload}.AAAA`, 401, 'algorithm_not_allowed');
  });

  it('an algorithm the guard does not allow, though the broker publishes the key', async () => {
    const rsa = await signingKey('r1', 'RS256');
    broker.keys.push(rsa);
    const token = await broker.token(rsa);
    const refusals: Refusal[] = [];
    const guard = broker.guard({ algorithms: ['ES256'], onRefusal: (r) => refusals.push(r) });
    const outcome = await guard.check(mcpRequest(token));
    expect(outcome.kind === 'response' && outcome.response.status).toBe(401);
    expect(refusals.map((r) => r.reason)).toEqual(['algorithm_not_allowed']);
    // …and the same token passes where RS256 is allowed: the refusal was the algorithm.
    expect((await broker.guard().check(mcpRequest(token))).kind).toBe('caller');
  });

  it('HS256 signed with the public key as a secret', async () => {
    const valid = await broker.token(key);
    const [, payload] = valid.split('.');
    const header = Buffer.from(JSON.stringify({ alg: 'HS256', kid: 'k1', typ: 'at+jwt' })).toString(
      'base64url',
    );
    await refusedWith(`${header}.${payload}.c2lnbmF0dXJl`, 401, 'algorithm_not_allowed');
  });

  it('another issuer', async () => {
    await refusedWith(
      await broker.token(key, { iss: 'https://evil.example' }),
      401,
      'wrong_issuer',
    );
  });

  it('a JWT that is not an access token (typ)', async () => {
    await refusedWith(await broker.token(key, {}, { typ: 'JWT' }), 401, 'wrong_type');
  });

  it('a token that is not a JWT', async () => {
    await refusedWith('not-a-jwt', 401, 'malformed');
  });

  it('an oversized token, though validly signed, before it is decoded', async () => {
    const token = await broker.token(key, { padding: 'a'.repeat(20_000) });
    await refusedWith(token, 401, 'malformed');
    expect(broker.jwksFetches).toBe(0);
  });

  it('fails closed with 503 when introspection is unavailable', async () => {
    broker.failIntrospection = true;
    const { response } = await refusedWith(
      await broker.token(key),
      503,
      'introspection_unavailable',
    );
    expect(response.headers.get('www-authenticate')).toBeNull();
  });

  it('a token in the query string is no token (header only)', async () => {
    const token = await broker.token(key);
    const outcome = await broker
      .guard()
      .check(new Request(`${RESOURCE}?access_token=${token}`, { method: 'POST' }));
    expect(outcome.kind === 'response' && outcome.response.status).toBe(401);
    expect(broker.introspections).toBe(0);
  });

  it('two credentials in one Authorization header', async () => {
    const token = await broker.token(key);
    await refusedWith(undefined, 401, 'malformed', {
      authorization: `Bearer ${token}, Bearer ${token}`,
    });
  });

  it('an Origin that differs from an allowed one by a trailing slash or a port', async () => {
    const token = await broker.token(key);
    await refusedWith(token, 403, 'foreign_origin', { origin: 'https://app.test.example/' });
    await refusedWith(token, 403, 'foreign_origin', { origin: 'https://app.test.example:8443' });
    await refusedWith(token, 403, 'foreign_origin', { origin: 'http://app.test.example' });
  });

  it('reports the refusal with the token hash only', async () => {
    const token = await broker.token(key, { aud: 'https://other.test.example/mcp' });
    const { refusals } = await refusedWith(token, 401, 'wrong_audience');
    expect(refusals[0]?.tokenHash).toMatch(/^[0-9a-f]{64}$/);
  });
});
