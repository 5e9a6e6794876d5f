import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { sha256 } from '../helpers/identity-support.js';

const CLIENT_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const RESOURCE = 'https://tickets.test.example';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    configure(raw) {
      raw.resources = [{ uri: RESOURCE, target: 'tickets' }];
    },
  });
});

afterAll(async () => {
  await h.close();
});

function form(path: string, body: URLSearchParams | Record<string, string>) {
  return h.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body).toString(),
  });
}

let n = 0;
/** A token agent-a got for itself with client credentials, and its lease id. */
async function clientToken(subject = 'spiffe://test/agent-a') {
  n += 1;
  const res = await form('/oauth/token', {
    grant_type: 'client_credentials',
    client_assertion_type: CLIENT_ASSERTION,
    client_assertion: await h.workloadToken(subject),
    resource: RESOURCE,
    scope: 'tickets:read',
    task_id: `revoke-${n}`,
    task_intent: 'triage',
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { access_token: string; lease_id: string };
  return { token: body.access_token, leaseId: body.lease_id };
}

/** `client` null: no client authentication at all. */
async function revoke(
  token: string,
  client: string | null = 'spiffe://test/agent-a',
  extra: Record<string, string> = {},
) {
  return form('/oauth/revoke', {
    token,
    ...(client === null
      ? {}
      : {
          client_assertion_type: CLIENT_ASSERTION,
          client_assertion: await h.workloadToken(client),
        }),
    ...extra,
  });
}

/** Introspection as the audience's resource server (`tickets-api`). */
async function introspect(token: string): Promise<boolean> {
  const res = await h.request('/v1/introspect', {
    method: 'POST',
    token: await h.workloadToken('spiffe://test/tickets-api'),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  return ((await res.json()) as { active: boolean }).active;
}

async function leaseState(id: string): Promise<string> {
  const res = await h.request(`/v1/leases/${id}`, { token: await h.operatorToken(['viewer']) });
  return ((await res.json()) as { state: string }).state;
}

describe('POST /oauth/revoke (RFC 7009)', () => {
  it('ends the lease behind the client’s own token, with a lease.revoked event and no token in it', async () => {
    const { token, leaseId } = await clientToken();
    expect(await introspect(token)).toBe(true);
    const res = await revoke(token);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await leaseState(leaseId)).toBe('revoked');
    expect(await introspect(token)).toBe(false);
    const events = await h.flushedEvents();
    expect(events.some((e) => e.type === 'lease.revoked' && e.lease_id === leaseId)).toBe(true);
    expect(h.events.text).not.toContain(token);
    expect(h.logs.text).not.toContain(token);
    // Revoking again is still a success.
    expect((await revoke(token)).status).toBe(200);
  });

  it.each(['access_token', 'refresh_token', 'something_else'])(
    'takes token_type_hint=%s as a hint only',
    async (hint) => {
      const { token, leaseId } = await clientToken();
      const res = await revoke(token, 'spiffe://test/agent-a', { token_type_hint: hint });
      expect(res.status).toBe(200);
      expect(await leaseState(leaseId)).toBe('revoked');
    },
  );

  it('answers 200 for another client’s token and revokes nothing', async () => {
    const { token, leaseId } = await clientToken('spiffe://test/agent-a');
    const res = await revoke(token, 'spiffe://test/agent-b');
    expect(res.status).toBe(200);
    expect(await leaseState(leaseId)).toBe('active');
    expect(await introspect(token)).toBe(true);
  });

  it('answers 200 for a token it does not know', async () => {
    expect((await revoke('not-a-token')).status).toBe(200);
    const forged = await h.workloadToken('spiffe://test/agent-a');
    expect((await revoke(forged)).status).toBe(200);
  });

  it('needs the token and an authenticated client', async () => {
    const missing = await form('/oauth/revoke', {
      client_assertion_type: CLIENT_ASSERTION,
      client_assertion: await h.workloadToken('spiffe://test/agent-a'),
    });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: string }).error).toBe('invalid_request');

    const { token, leaseId } = await clientToken();
    const anonymous = await revoke(token, null);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: string }).error).toBe('invalid_client');

    const forged = `${await h.workloadToken('spiffe://test/agent-a')}x`;
    const bad = await form('/oauth/revoke', {
      token,
      client_assertion_type: CLIENT_ASSERTION,
      client_assertion: forged,
    });
    expect(bad.status).toBe(401);
    const events = await h.flushedEvents();
    const failed = events.find(
      (e) => e.type === 'auth.failed' && e.token_sha256 === sha256(forged),
    );
    expect(failed?.detail).toMatchObject({ path: '/oauth/revoke', parameter: 'client_assertion' });
    expect(await leaseState(leaseId)).toBe('active');
  });

  it('refuses repeated parameters and a body that is not a form', async () => {
    const { token, leaseId } = await clientToken();
    const body = new URLSearchParams({
      token,
      client_assertion_type: CLIENT_ASSERTION,
      client_assertion: await h.workloadToken('spiffe://test/agent-a'),
    });
    body.append('token', token);
    const repeated = await form('/oauth/revoke', body);
    expect(repeated.status).toBe(400);
    const json = await h.request('/oauth/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    expect(json.status).toBe(400);
    expect(await leaseState(leaseId)).toBe('active');
  });
});
