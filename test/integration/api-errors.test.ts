import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/identity/token-hash.js';
import { type Harness, startHarness, WORKLOAD_ISSUER } from '../helpers/broker-harness.js';

const VALID = {
  target: 'tickets',
  scope: { scopes: ['tickets:read'] },
  task: { id: 'task-1', intent: 'triage' },
};

describe('bad input gets a specific problem, an event, and never a credential', () => {
  let h: Harness;
  let agent: string;

  beforeAll(async () => {
    h = await startHarness({
      configure: (raw) => Object.assign(raw.server as object, { body_limit: 4096 }),
    });
    agent = await h.workloadToken('spiffe://test/agent-a');
  });
  afterAll(async () => {
    await h.close();
  });

  async function post(body: unknown, token: string | null = agent, raw?: string) {
    const res = await h.request('/v1/credentials', {
      method: 'POST',
      ...(token === null ? {} : { token }),
      headers: { 'content-type': 'application/json' },
      body: raw ?? JSON.stringify(body),
    });
    const text = await res.text();
    expect(res.status).not.toBe(500);
    expect(res.status).not.toBe(201);
    expect(text).not.toContain('"credential"');
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = JSON.parse(text) as {
      code: string;
      status: number;
      request_id: string;
      detail: string;
    };
    expect(problem.status).toBe(res.status);
    expect(problem.request_id).toMatch(/^req_/);
    expect(res.headers.get('x-request-id')).toBe(problem.request_id);
    return { status: res.status, problem, headers: res.headers };
  }

  const deniedEvent = async (requestId: string) =>
    (await h.flushedEvents()).find(
      (e) =>
        e.request_id === requestId && (e.type === 'credential.denied' || e.type === 'auth.failed'),
    );

  it.each([
    ['malformed JSON', undefined, '{"target": "tickets",', 422, 'invalid_json', false],
    ['unknown target', { ...VALID, target: 'nope' }, undefined, 404, 'target_unknown', true],
    [
      'scope outside the ceiling',
      { ...VALID, scope: { scopes: ['tickets:delete'] } },
      undefined,
      403,
      'scope_exceeds_ceiling',
      true,
    ],
    [
      'scope of the wrong shape',
      { ...VALID, scope: { repositories: ['x'] } },
      undefined,
      422,
      'scope_invalid',
      true,
    ],
    ['TTL above max_ttl', { ...VALID, ttl: 3600 }, undefined, 422, 'ttl_out_of_range', true],
    ['TTL of zero', { ...VALID, ttl: 0 }, undefined, 422, 'invalid_request', false],
    [
      'missing task',
      { target: 'tickets', scope: VALID.scope },
      undefined,
      422,
      'invalid_request',
      false,
    ],
    [
      'task without intent',
      { ...VALID, task: { id: 'x' } },
      undefined,
      422,
      'invalid_request',
      false,
    ],
    [
      'task id with control characters',
      { ...VALID, task: { id: 'a\nb', intent: 'triage' } },
      undefined,
      422,
      'invalid_request',
      false,
    ],
    [
      'intent not allowed',
      { ...VALID, task: { id: 't', intent: 'deploy' } },
      undefined,
      403,
      'intent_not_allowed',
      true,
    ],
    ['unknown field', { ...VALID, admin: true }, undefined, 422, 'invalid_request', false],
    [
      'oversized body',
      { ...VALID, task: { ...VALID.task, context: { pad: 'x'.repeat(5000) } } },
      undefined,
      413,
      'payload_too_large',
      false,
    ],
  ] as const)('%s', async (_name, body, raw, status, code, expectEvent) => {
    const res = await post(body, agent, raw);
    expect(res.status).toBe(status);
    expect(res.problem.code).toBe(code);
    if (expectEvent) {
      expect(await deniedEvent(res.problem.request_id)).toMatchObject({
        type: 'credential.denied',
        reason: code,
      });
    }
  });

  it('no token: 401 with WWW-Authenticate and an auth.failed event', async () => {
    const res = await post(VALID, null);
    expect(res.status).toBe(401);
    expect(res.problem.code).toBe('unauthenticated');
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await deniedEvent(res.problem.request_id)).toMatchObject({
      type: 'auth.failed',
      reason: 'missing_token',
    });
  });

  it('expired token: 401 invalid_token, event carries the token hash and not the token', async () => {
    const expired = await h.workloadToken(
      'spiffe://test/agent-a',
      {},
      { expiresIn: Math.floor(Date.now() / 1000) - 120 },
    );
    const res = await post(VALID, expired);
    expect(res.status).toBe(401);
    expect(res.problem.code).toBe('invalid_token');
    expect(res.headers.get('www-authenticate')).toContain('invalid_token');
    expect(await deniedEvent(res.problem.request_id)).toMatchObject({
      type: 'auth.failed',
      reason: 'expired',
      token_sha256: sha256Hex(expired),
    });
    expect(h.events.text).not.toContain(expired);
    expect(h.logs.text).not.toContain(expired);
  });

  it('forged token (right issuer, attacker key): 401', async () => {
    const attacker = await generateKeyPair('ES256');
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'w1' })
      .setIssuer(WORKLOAD_ISSUER)
      .setAudience('jit-broker')
      .setSubject('spiffe://test/agent-a')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(attacker.privateKey);
    const res = await post(VALID, forged);
    expect(res.status).toBe(401);
    expect(await deniedEvent(res.problem.request_id)).toMatchObject({ reason: 'bad_signature' });
    void exportJWK;
  });

  it('oversized token: 401 before decoding', async () => {
    const res = await post(VALID, `${'a'.repeat(17_000)}.b.c`);
    expect(res.status).toBe(401);
    expect(await deniedEvent(res.problem.request_id)).toMatchObject({ reason: 'too_large' });
  });

  it('a token for a subject that maps to no workload: 401', async () => {
    const stranger = await h.workloadToken('spiffe://test/stranger');
    const res = await post(VALID, stranger);
    expect(res.status).toBe(401);
    expect(await deniedEvent(res.problem.request_id)).toMatchObject({ reason: 'no_workload' });
  });

  it('a workload token on an operator route: 401; a viewer revoking: 403', async () => {
    const asWorkload = await h.request('/v1/workloads/agent-a/revoke', {
      method: 'POST',
      token: agent,
      json: { reason: 'x' },
    });
    expect(asWorkload.status).toBe(401);
    const viewer = await h.operatorToken(['viewer']);
    const asViewer = await h.request('/v1/workloads/agent-a/revoke', {
      method: 'POST',
      token: viewer,
      json: { reason: 'x' },
    });
    expect(asViewer.status).toBe(403);
    expect(await asViewer.json()).toMatchObject({ code: 'forbidden' });
    const noRoles = await h.operatorToken([]);
    expect((await h.request('/v1/workloads', { token: noRoles })).status).toBe(401);
  });

  it('an operator token is never accepted as a workload identity', async () => {
    const admin = await h.operatorToken(['admin']);
    const res = await post(VALID, admin);
    expect(res.status).toBe(401);
  });

  it('unknown lease: 404 for its owner-to-be and for viewers', async () => {
    const viewer = await h.operatorToken(['viewer']);
    for (const token of [agent, viewer]) {
      const res = await h.request('/v1/leases/lse_00000000000000000000000000', { token });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'lease_not_found' });
    }
  });

  it('workload names in queries are checked: no ":" can reach the lease store keys', async () => {
    const admin = await h.operatorToken(['admin']);
    for (const [path, init] of [
      ['/v1/tasks/b:c/revoke?workload=agent-a:b', { method: 'POST' }],
      ['/v1/leases?workload=agent-a:b', {}],
      ['/v1/revoke', { method: 'POST', json: { workload: 'agent-a:b', reason: 'x' } }],
    ] as const) {
      const res = await h.request(path, { ...init, token: admin });
      expect(res.status, path).toBe(422);
      expect(await res.json()).toMatchObject({
        code: 'invalid_request',
        errors: [{ path: 'workload' }],
      });
    }
  });

  it('a blocked workload is refused with 403 and an event', async () => {
    const revoker = await h.operatorToken(['admin']);
    await h.request('/v1/workloads/agent-b/revoke', {
      method: 'POST',
      token: revoker,
      json: { reason: 't', block: true },
    });
    const res = await post(VALID, await h.workloadToken('spiffe://test/agent-b'));
    expect(res.status).toBe(403);
    expect(res.problem.code).toBe('workload_blocked');
    expect(await deniedEvent(res.problem.request_id)).toMatchObject({
      type: 'credential.denied',
      reason: 'workload_blocked',
    });
  });

  it('break-glass use works and is a critical event; a wrong one is refused', async () => {
    const ok = await h.request('/v1/workloads', { token: h.breakGlass.token });
    expect(ok.status).toBe(200);
    const used = (await h.flushedEvents()).find((e) => e.type === 'operator.break_glass_used');
    expect(used).toMatchObject({ severity: 'critical', actor: 'break-glass:oncall' });
    expect(h.events.text).not.toContain(h.breakGlass.token);
    const wrong = await h.request('/v1/workloads', { token: `jbg_${'A'.repeat(43)}` });
    expect(wrong.status).toBe(401);
  });

  it('an unknown route is a problem+json 404', async () => {
    const res = await h.request('/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });
});
