import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { sha256 } from '../helpers/identity-support.js';

const CLIENT_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const RESOURCE = 'https://tickets.test.example';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    configure(raw) {
      raw.resources = [{ uri: RESOURCE, target: 'tickets', scopes: ['tickets:read'] }];
    },
  });
});

afterAll(async () => {
  await h.close();
});

function post(
  fields: URLSearchParams | Record<string, string>,
  headers: Record<string, string> = {},
) {
  return h.request('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

async function fields(
  overrides: Record<string, string | undefined> = {},
): Promise<Record<string, string>> {
  const all: Record<string, string | undefined> = {
    grant_type: 'client_credentials',
    client_assertion_type: CLIENT_ASSERTION,
    client_assertion: await h.workloadToken('spiffe://test/agent-a'),
    resource: RESOURCE,
    scope: 'tickets:read',
    task_id: 'task-cc',
    task_intent: 'triage',
    ...overrides,
  };
  return Object.fromEntries(
    Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined),
  );
}

async function expectError(res: Response, status: number, error: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const body = (await res.json()) as Record<string, string>;
  expect(body.error).toBe(error);
  return body;
}

describe('client_credentials with a client assertion (RFC 7523 §2.2)', () => {
  it('issues a Bearer token whose aud is exactly the resource', async () => {
    const res = await post(await fields());
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.token_type).toBe('Bearer');
    expect(body.scope).toBe('tickets:read');
    expect(body.expires_in).toBeGreaterThan(0);
    expect(body.lease_id).toMatch(/^lse_/);
    const claims = decodeJwt(body.access_token as string);
    expect(claims.aud).toBe(RESOURCE);
    expect(claims.iss).toBe('https://broker.test.example');
    expect(claims.client_id).toBe('agent-a');
    expect((claims.task as { id: string }).id).toBe('task-cc');
  });

  it('accepts a client_id that names the asserted workload', async () => {
    const res = await post(await fields({ client_id: 'agent-a' }));
    expect(res.status).toBe(200);
  });

  it('refuses another workload named in client_id: invalid_client and an auth.failed event', async () => {
    const assertion = await h.workloadToken('spiffe://test/agent-a');
    await expectError(
      await post(await fields({ client_assertion: assertion, client_id: 'agent-b' })),
      401,
      'invalid_client',
    );
    const events = await h.flushedEvents();
    const failed = events.find(
      (e) => e.type === 'auth.failed' && e.token_sha256 === sha256(assertion),
    );
    expect(failed?.reason).toBe('client_mismatch');
    expect(failed?.detail).toMatchObject({ parameter: 'client_assertion' });
  });

  it.each([
    [
      'a foreign signature',
      async () => `${(await h.workloadToken('spiffe://test/agent-a')).slice(0, -6)}AAAAAA`,
      'bad_signature',
    ],
    [
      'another audience',
      () => h.workloadToken('spiffe://test/agent-a', {}, { audience: 'elsewhere' }),
      'audience_mismatch',
    ],
    [
      'an expired token',
      () =>
        h.workloadToken(
          'spiffe://test/agent-a',
          {},
          { expiresIn: Math.floor(Date.now() / 1000) - 120 },
        ),
      'expired',
    ],
    ['an unmapped identity', () => h.workloadToken('spiffe://test/nobody'), 'no_workload'],
  ])(
    'refuses a client assertion with %s (invalid_client, auth.failed, no token in events or logs)',
    async (_name, make, reason) => {
      const assertion = await make();
      await expectError(
        await post(await fields({ client_assertion: assertion })),
        401,
        'invalid_client',
      );
      const events = await h.flushedEvents();
      const failed = events.find(
        (e) => e.type === 'auth.failed' && e.token_sha256 === sha256(assertion),
      );
      expect(failed?.reason).toBe(reason);
      expect(h.events.text).not.toContain(assertion);
      expect(h.logs.text).not.toContain(assertion);
    },
  );

  it('refuses a broker-issued access token offered as the client assertion', async () => {
    const first = await post(await fields());
    const { access_token: token } = (await first.json()) as { access_token: string };
    await expectError(await post(await fields({ client_assertion: token })), 401, 'invalid_client');
  });

  it('refuses an ID-JAG offered as the client assertion', async () => {
    const { SignJWT, generateKeyPair } = await import('jose');
    const { privateKey } = await generateKeyPair('ES256');
    const jag = await new SignJWT({ client_id: 'agent-a' })
      .setProtectedHeader({ alg: 'ES256', typ: 'oauth-id-jag+jwt' })
      .setIssuer('https://issuer.test.example')
      .setSubject('spiffe://test/agent-a')
      .setAudience('jit-broker')
      .setExpirationTime('5m')
      .sign(privateKey);
    await expectError(await post(await fields({ client_assertion: jag })), 401, 'invalid_client');
    const events = await h.flushedEvents();
    const failed = events.find((e) => e.type === 'auth.failed' && e.token_sha256 === sha256(jag));
    expect(failed?.reason).toBe('unsupported_token');
  });

  it('needs client authentication, and only one method of it', async () => {
    await expectError(
      await post(await fields({ client_assertion: undefined, client_assertion_type: undefined })),
      401,
      'invalid_client',
    );
    await expectError(await post(await fields({ client_secret: 's3cret' })), 401, 'invalid_client');
    await expectError(
      await post(await fields({ client_assertion_type: 'urn:example:other' })),
      401,
      'invalid_client',
    );
    await expectError(
      await post(await fields({ client_assertion_type: undefined })),
      400,
      'invalid_request',
    );
    await expectError(
      await post(await fields(), { authorization: 'Basic YWdlbnQtYTpzZWNyZXQ=' }),
      400,
      'invalid_request',
    );
  });

  it('takes no subject, actor or assertion token', async () => {
    const other = await h.workloadToken('spiffe://test/agent-b');
    for (const name of ['assertion', 'subject_token', 'actor_token']) {
      await expectError(await post(await fields({ [name]: other })), 400, 'invalid_request');
    }
  });
});

describe('resource indicators (RFC 8707)', () => {
  it.each([
    ['a trailing slash', `${RESOURCE}/`],
    ['an upper-case host', 'https://TICKETS.test.example'],
    ['an upper-case scheme', 'HTTPS://tickets.test.example'],
    ['the default port', 'https://tickets.test.example:443'],
    ['a fragment', `${RESOURCE}#frag`],
    ['an empty fragment', `${RESOURCE}#`],
    ['user info', 'https://user@tickets.test.example'],
    ['another scheme', 'ftp://tickets.test.example'],
    ['a relative reference', '//tickets.test.example'],
    ['an unknown resource', 'https://other.test.example'],
    ['a path below the resource', `${RESOURCE}/mcp`],
  ])('refuses %s as invalid_target', async (name, resource) => {
    const body = await expectError(await post(await fields({ resource })), 400, 'invalid_target');
    // A variant of a configured URI is told what is wrong with it, not that it is unknown.
    // (A relative reference has no scheme, so it is read as a target name, and no target has it.)
    if (name === 'a relative reference') return;
    expect(body.error_description).toMatch(
      name === 'an unknown resource' || name === 'a path below the resource'
        ? /not one this broker issues for/
        : /canonical|fragment|absolute|http or https|user info/,
    );
  });

  it('refuses repeated parameters, resource included, as invalid_request', async () => {
    for (const name of ['resource', 'scope', 'task_id', 'client_assertion']) {
      const body = new URLSearchParams(await fields());
      body.append(name, body.get(name) as string);
      await expectError(await post(body), 400, 'invalid_request');
    }
  });

  it('refuses a scope the resource does not list, before policy', async () => {
    const body = await expectError(
      await post(await fields({ scope: 'tickets:read tickets:comment' })),
      400,
      'invalid_scope',
    );
    expect(body.error_description).toContain('tickets:comment');
  });

  it('gives a token exchange the resource as aud too', async () => {
    const res = await post({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: await h.workloadToken('spiffe://test/agent-b'),
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      resource: RESOURCE,
      scope: 'tickets:read',
      task_id: 'task-x',
      task_intent: 'triage',
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string };
    expect(decodeJwt(body.access_token).aud).toBe(RESOURCE);
  });

  it('puts no issued token or assertion in events or logs', async () => {
    const assertion = await h.workloadToken('spiffe://test/agent-a');
    const res = await post(await fields({ client_assertion: assertion }));
    const { access_token: token } = (await res.json()) as { access_token: string };
    await h.flushedEvents();
    expect(h.events.text).not.toContain(token);
    expect(h.logs.text).not.toContain(token);
    expect(h.events.text).not.toContain(assertion);
    expect(h.logs.text).not.toContain(assertion);
  });
});

describe('client assertions from an issuer with one-time jti', () => {
  let once: Harness;

  beforeAll(async () => {
    once = await startHarness({
      configure(raw) {
        raw.resources = [{ uri: RESOURCE, target: 'tickets' }];
        (raw.issuers as Record<string, unknown>[])[0] = {
          ...(raw.issuers as Record<string, unknown>[])[0],
          one_time_jti: true,
        };
      },
    });
  });

  afterAll(async () => {
    await once.close();
  });

  it('refuses a replayed client assertion, as every front door does', async () => {
    const assertion = await once.workloadToken('spiffe://test/agent-a', { jti: 'cc-once-1' });
    const send = () =>
      once.request('/oauth/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion_type: CLIENT_ASSERTION,
          client_assertion: assertion,
          resource: RESOURCE,
          scope: 'tickets:read',
          task_id: 'task-once',
          task_intent: 'triage',
        }).toString(),
      });
    expect((await send()).status).toBe(200);
    const replay = await send();
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { error: string }).error).toBe('invalid_client');
    const events = await once.flushedEvents();
    const failed = events.find(
      (e) => e.type === 'auth.failed' && e.token_sha256 === sha256(assertion),
    );
    expect(failed?.reason).toBe('replayed');
  });
});
