import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { type ProfileIssuers, profileIssuers } from '../helpers/profile-issuers.js';

const REQUEST = {
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: 'task-9', intent: 'triage', tool: 'list_tickets' },
};

let h: Harness;
let issuers: ProfileIssuers;

beforeAll(async () => {
  issuers = await profileIssuers();
  h = await startHarness({ configure: (raw) => issuers.configure(raw) });
});

afterAll(async () => {
  await h.close();
  issuers.remove();
});

function exchange(fields: Record<string, string>): Promise<Response> {
  return h.request('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

const tokens: Record<string, () => Promise<string>> = {
  kubernetes: () => issuers.k8sToken(),
  'github-actions': () => issuers.ghToken(),
  spiffe: () => issuers.svid(),
};
const WORKLOAD: Record<string, string> = {
  kubernetes: 'k8s-agent',
  'github-actions': 'ci-agent',
  spiffe: 'svid-agent',
};

describe.each(Object.keys(tokens))('a %s token gets a credential', (profile) => {
  const token = () => (tokens[profile] as () => Promise<string>)();
  const workload = WORKLOAD[profile] as string;

  it('through POST /v1/credentials', async () => {
    const res = await h.request('/v1/credentials', {
      method: 'POST',
      token: await token(),
      json: REQUEST,
    });
    expect(res.status).toBe(201);
    const issued = (await res.json()) as { workload: string; credential: { token: string } };
    expect(issued.workload).toBe(workload);
    expect(decodeJwt(issued.credential.token).scope).toBe('tickets:read');
  });

  it('through POST /oauth/token (token exchange)', async () => {
    const res = await exchange({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: await token(),
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      audience: 'tickets',
      scope: 'tickets:read tickets:comment',
      task_id: 'task-9',
      task_intent: 'triage',
      task_tool: 'list_tickets',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      issued_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_type: 'Bearer',
      scope: 'tickets:read tickets:comment',
      target: 'tickets',
      provider: 'jwt',
    });
    expect(body.expires_in).toBeGreaterThan(290);
    expect(body.expires_in).toBeLessThanOrEqual(300);
    const claims = decodeJwt(body.access_token as string);
    expect(claims).toMatchObject({ scope: 'tickets:read tickets:comment', jti: body.lease_id });
    const lease = await h.request(`/v1/leases/${String(body.lease_id)}`, { token: await token() });
    expect(((await lease.json()) as { workload: string }).workload).toBe(workload);
  });

  it('through POST /oauth/token (jwt-bearer)', async () => {
    const res = await exchange({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: await token(),
      resource: 'urn:jit-broker:target:tickets',
      scope: 'tickets:read',
      task_id: 'task-10',
      task_intent: 'triage',
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { scope: string }).scope).toBe('tickets:read');
  });
});

describe('what the principal cache never holds', () => {
  it('refuses a blocked workload even when its token was just verified', async () => {
    const token = await issuers.svid({ sub: 'spiffe://prod.test.example/agents/blocked-soon' });
    const first = await h.request('/v1/credentials', { method: 'POST', token, json: REQUEST });
    expect(first.status).toBe(201);
    const operator = await h.operatorToken(['admin']);
    const kill = await h.request('/v1/workloads/svid-agent/revoke', {
      method: 'POST',
      token: operator,
      json: { reason: 'incident', block: true },
    });
    expect(kill.status).toBe(200);
    const again = await h.request('/v1/credentials', { method: 'POST', token, json: REQUEST });
    expect(again.status).toBe(403);
    expect(((await again.json()) as { code: string }).code).toBe('workload_blocked');
    const unblock = await h.request('/v1/workloads/svid-agent/unblock', {
      method: 'POST',
      token: operator,
    });
    expect(unblock.status).toBe(200);
    const after = await h.request('/v1/credentials', { method: 'POST', token, json: REQUEST });
    expect(after.status).toBe(201);
  });
});
