import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS, ACTIONS, type Action } from '../../src/access/table.js';
import type { OperatorRole } from '../../src/config/schema.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';

/**
 * The route access matrix. Every route the app registers is listed here with who may call
 * it, written out by hand: this list is the specification the access table must meet, so
 * weakening the table (or a route's declared action, or the middleware) turns this red, and
 * so does a new route that nobody added here.
 */
type Expected =
  | { presented: 'none' }
  | { presented: 'metrics_token' }
  | { presented: 'grant'; workload: 'self' }
  /** A client (its identity JWT as client assertion) on its own tokens only. */
  | { presented: 'grant'; workload: 'own' }
  | {
      presented: 'bearer';
      /**
       * `own`: a workload on its own lease or task only; another workload's is a 404.
       * `own_identity`: the same, and only the identity the lease was issued to.
       */
      workload?: 'self' | 'own' | 'own_identity' | 'resource_server';
      operator?: OperatorRole;
    };

const EXPECTED: Record<string, Expected> = {
  'POST /v1/credentials': { presented: 'bearer', workload: 'self' },
  'POST /oauth/token': { presented: 'grant', workload: 'self' },
  'POST /oauth/revoke': { presented: 'grant', workload: 'own' },
  'GET /.well-known/oauth-authorization-server': { presented: 'none' },
  'GET /oauth/authorize': { presented: 'none' },
  'POST /v1/introspect': { presented: 'bearer', workload: 'resource_server' },
  'GET /v1/leases': { presented: 'bearer', workload: 'own', operator: 'viewer' },
  'GET /v1/leases/{id}': { presented: 'bearer', workload: 'own', operator: 'viewer' },
  'DELETE /v1/leases/{id}': { presented: 'bearer', workload: 'own', operator: 'revoker' },
  'POST /v1/leases/{id}/renew': { presented: 'bearer', workload: 'own_identity' },
  'POST /v1/leases/{id}/retry': { presented: 'bearer', operator: 'revoker' },
  'POST /v1/tasks/{task_id}/revoke': { presented: 'bearer', workload: 'own', operator: 'revoker' },
  'GET /v1/workloads': { presented: 'bearer', operator: 'viewer' },
  'GET /v1/workloads/inventory': { presented: 'bearer', operator: 'viewer' },
  'GET /v1/workloads/{id}/report': { presented: 'bearer', operator: 'viewer' },
  'GET /v1/workloads/{id}/revocation-receipt': { presented: 'bearer', operator: 'viewer' },
  'POST /v1/workloads/{id}/revoke': { presented: 'bearer', operator: 'revoker' },
  'POST /v1/workloads/{id}/unblock': { presented: 'bearer', operator: 'admin' },
  'GET /v1/workloads/{id}/hold': { presented: 'bearer', operator: 'viewer' },
  'DELETE /v1/workloads/{id}/hold': { presented: 'bearer', operator: 'admin' },
  'POST /v1/revoke': { presented: 'bearer', operator: 'revoker' },
  'POST /v1/freeze': { presented: 'bearer', operator: 'admin' },
  'DELETE /v1/freeze': { presented: 'bearer', operator: 'admin' },
  'GET /v1/freeze': { presented: 'bearer', operator: 'viewer' },
  'POST /v1/policy/simulate': { presented: 'bearer', operator: 'admin' },
  'GET /v1/approvals': { presented: 'bearer', workload: 'own', operator: 'viewer' },
  'GET /v1/approvals/{id}': { presented: 'bearer', workload: 'own', operator: 'viewer' },
  'POST /v1/approvals/{id}/approve': { presented: 'bearer', operator: 'approver' },
  'POST /v1/approvals/{id}/deny': { presented: 'bearer', operator: 'approver' },
  'GET /v1/events': { presented: 'bearer', operator: 'viewer' },
  'GET /.well-known/jwks.json': { presented: 'none' },
  'GET /.well-known/jit-audit-keys.json': { presented: 'none' },
  'GET /.well-known/ssf-configuration': { presented: 'none' },
  'GET /.well-known/ssf/jwks.json': { presented: 'none' },
  'GET /healthz': { presented: 'none' },
  'GET /readyz': { presented: 'none' },
  'GET /v1/readiness': { presented: 'bearer', operator: 'viewer' },
  'GET /metrics': { presented: 'metrics_token' },
  'GET /openapi.json': { presented: 'none' },
  'GET /v1/whoami': { presented: 'bearer', operator: 'viewer' },
  'GET /v1/status': { presented: 'bearer', operator: 'viewer' },
  'GET /console': { presented: 'none' },
  'GET /console/{asset}': { presented: 'none' },
};

const ROLES: readonly OperatorRole[] = ['viewer', 'revoker', 'admin', 'approver'];
/** The roles a route's operator rule lets in: viewer under revoker and approver, admin over all. */
const ADMITTED: Record<OperatorRole, readonly OperatorRole[]> = {
  viewer: ['viewer', 'revoker', 'approver', 'admin'],
  revoker: ['revoker', 'admin'],
  admin: ['admin'],
  approver: ['approver', 'admin'],
};
const METRICS_TOKEN = 'metrics-token-for-the-access-matrix';
const TASK = { intent: 'triage' };

/** A request a route can take: a fresh lease of agent-a's (and its task) where it needs one. */
interface Sample {
  path: string;
  init: RequestInit & { json?: unknown };
}
/** `approval`: a fresh pending approval of agent-a's. */
type SampleFor = (lease: { id: string; task: string; token: string; approval: string }) => Sample;

const SAMPLES: Record<string, SampleFor> = {
  'POST /v1/credentials': ({ task }) => ({
    path: '/v1/credentials',
    init: {
      method: 'POST',
      json: { target: 'tickets', scope: { scopes: ['tickets:read'] }, task: { id: task, ...TASK } },
    },
  }),
  'POST /oauth/token': () => ({ path: '/oauth/token', init: { method: 'POST' } }),
  'POST /oauth/revoke': () => ({ path: '/oauth/revoke', init: { method: 'POST' } }),
  'GET /.well-known/oauth-authorization-server': () => ({
    path: '/.well-known/oauth-authorization-server',
    init: {},
  }),
  'GET /oauth/authorize': () => ({ path: '/oauth/authorize?response_type=code', init: {} }),
  'POST /v1/introspect': ({ token }) => ({
    path: '/v1/introspect',
    init: {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    },
  }),
  'GET /v1/leases': () => ({ path: '/v1/leases?workload=agent-a', init: {} }),
  'GET /v1/leases/{id}': ({ id }) => ({ path: `/v1/leases/${id}`, init: {} }),
  'DELETE /v1/leases/{id}': ({ id }) => ({ path: `/v1/leases/${id}`, init: { method: 'DELETE' } }),
  'POST /v1/leases/{id}/renew': ({ id }) => ({
    path: `/v1/leases/${id}/renew`,
    init: { method: 'POST', json: {} },
  }),
  'POST /v1/leases/{id}/retry': ({ id }) => ({
    path: `/v1/leases/${id}/retry`,
    init: { method: 'POST' },
  }),
  'POST /v1/tasks/{task_id}/revoke': ({ task }) => ({
    path: `/v1/tasks/${task}/revoke?workload=agent-a`,
    init: { method: 'POST' },
  }),
  'GET /v1/workloads': () => ({ path: '/v1/workloads', init: {} }),
  'GET /v1/workloads/inventory': () => ({ path: '/v1/workloads/inventory', init: {} }),
  'GET /v1/workloads/{id}/report': () => ({
    path: '/v1/workloads/agent-a/report?window=7d',
    init: {},
  }),
  'GET /v1/workloads/{id}/revocation-receipt': () => ({
    path: '/v1/workloads/agent-a/revocation-receipt',
    init: {},
  }),
  'POST /v1/workloads/{id}/revoke': () => ({
    path: '/v1/workloads/agent-b/revoke',
    init: { method: 'POST', json: { reason: 'access matrix' } },
  }),
  'POST /v1/workloads/{id}/unblock': () => ({
    path: '/v1/workloads/agent-b/unblock',
    init: { method: 'POST' },
  }),
  'GET /v1/workloads/{id}/hold': () => ({ path: '/v1/workloads/agent-b/hold', init: {} }),
  'DELETE /v1/workloads/{id}/hold': () => ({
    path: '/v1/workloads/agent-b/hold',
    init: { method: 'DELETE' },
  }),
  'POST /v1/revoke': () => ({
    path: '/v1/revoke',
    init: { method: 'POST', json: { workload: 'agent-b', reason: 'access matrix' } },
  }),
  'POST /v1/freeze': () => ({
    path: '/v1/freeze',
    init: { method: 'POST', json: { reason: 'access matrix' } },
  }),
  'DELETE /v1/freeze': () => ({ path: '/v1/freeze', init: { method: 'DELETE' } }),
  'GET /v1/freeze': () => ({ path: '/v1/freeze', init: {} }),
  'POST /v1/policy/simulate': ({ task }) => ({
    path: '/v1/policy/simulate',
    init: {
      method: 'POST',
      json: {
        workload: 'agent-a',
        target: 'tickets',
        scope: { scopes: ['tickets:read'] },
        task: { id: task, ...TASK },
      },
    },
  }),
  'GET /v1/approvals': () => ({ path: '/v1/approvals?workload=agent-a', init: {} }),
  'GET /v1/approvals/{id}': ({ approval }) => ({ path: `/v1/approvals/${approval}`, init: {} }),
  'POST /v1/approvals/{id}/approve': ({ approval }) => ({
    path: `/v1/approvals/${approval}/approve`,
    init: { method: 'POST', json: { reason: 'access matrix' } },
  }),
  'POST /v1/approvals/{id}/deny': ({ approval }) => ({
    path: `/v1/approvals/${approval}/deny`,
    init: { method: 'POST', json: { reason: 'access matrix' } },
  }),
  'GET /v1/events': () => ({ path: '/v1/events', init: {} }),
  'GET /.well-known/jwks.json': () => ({ path: '/.well-known/jwks.json', init: {} }),
  'GET /.well-known/jit-audit-keys.json': () => ({
    path: '/.well-known/jit-audit-keys.json',
    init: {},
  }),
  'GET /.well-known/ssf-configuration': () => ({
    path: '/.well-known/ssf-configuration',
    init: {},
  }),
  'GET /.well-known/ssf/jwks.json': () => ({ path: '/.well-known/ssf/jwks.json', init: {} }),
  'GET /healthz': () => ({ path: '/healthz', init: {} }),
  'GET /readyz': () => ({ path: '/readyz', init: {} }),
  'GET /v1/readiness': () => ({ path: '/v1/readiness', init: {} }),
  'GET /metrics': () => ({ path: '/metrics', init: {} }),
  'GET /openapi.json': () => ({ path: '/openapi.json', init: {} }),
  'GET /v1/whoami': () => ({ path: '/v1/whoami', init: {} }),
  'GET /v1/status': () => ({ path: '/v1/status', init: {} }),
  'GET /console': () => ({ path: '/console', init: {} }),
  'GET /console/{asset}': () => ({ path: '/console/console.js', init: {} }),
};

interface RegisteredRoute {
  key: string;
  action: Action | undefined;
}

describe('route access matrix', () => {
  let h: Harness;
  let tokens: {
    owner: string;
    other: string;
    resourceServer: string;
    noRole: string;
    roles: Record<OperatorRole, string>;
  };
  let registered: RegisteredRoute[];
  let n = 0;

  beforeAll(async () => {
    h = await startHarness({
      configure: (raw) => {
        (raw.server as Record<string, unknown>).metrics_token = METRICS_TOKEN;
        // A policy that waits for an approver, for the approval routes' samples.
        (raw.policies as unknown[]).push({
          name: 'matrix-approval',
          workloads: ['agent-a', 'agent-b'],
          target: 'tickets',
          allow: { scopes: ['tickets:read'] },
          intents: ['needs-approval'],
          default_ttl: '5m',
          max_ttl: '15m',
          approval: 'required',
        });
        raw.approvals = { max_pending: 100_000, max_pending_per_workload: 10_000 };
        // A transmitter with no receivers, so its public routes answer.
        raw.ssf = {
          signing_key: {
            private_key: generateKeyPairSync('ec', { namedCurve: 'P-256' })
              .privateKey.export({ type: 'pkcs8', format: 'pem' })
              .toString(),
          },
        };
      },
    });
    tokens = {
      owner: await h.workloadToken('spiffe://test/agent-a'),
      other: await h.workloadToken('spiffe://test/agent-b'),
      resourceServer: await h.workloadToken('spiffe://test/tickets-api'),
      noRole: await h.operatorToken([]),
      roles: {
        viewer: await h.operatorToken(['viewer']),
        revoker: await h.operatorToken(['revoker']),
        admin: await h.operatorToken(['admin']),
        approver: await h.operatorToken(['approver']),
      },
    };
    registered = h.broker.app.openAPIRegistry.definitions.flatMap((d) =>
      d.type === 'route'
        ? [
            {
              key: `${d.route.method.toUpperCase()} ${d.route.path}`,
              action: (d.route as { 'x-jit-access'?: { action: Action } })['x-jit-access']?.action,
            },
          ]
        : [],
    );
  });
  afterAll(async () => {
    await h.close();
  });

  /**
   * A fresh lease of agent-a's, its task id and its token (a broker-issued credential), and a
   * fresh approval agent-a waits on.
   */
  async function freshLease(): Promise<{
    id: string;
    task: string;
    token: string;
    approval: string;
  }> {
    n += 1;
    const task = `matrix-${n}`;
    const res = await h.request('/v1/credentials', {
      method: 'POST',
      token: tokens.owner,
      json: { target: 'tickets', scope: { scopes: ['tickets:read'] }, task: { id: task, ...TASK } },
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { lease_id: string; credential: { token: string } };
    const waiting = await h.request('/v1/credentials', {
      method: 'POST',
      token: tokens.owner,
      json: {
        target: 'tickets',
        scope: { scopes: ['tickets:read'] },
        task: { id: task, intent: 'needs-approval' },
      },
    });
    expect(waiting.status).toBe(202);
    const { approval_id } = (await waiting.json()) as { approval_id: string };
    return { id: body.lease_id, task, token: body.credential.token, approval: approval_id };
  }

  async function call(key: string, token: string | undefined): Promise<Response> {
    const sample = SAMPLES[key]?.(await freshLease());
    if (!sample) throw new Error(`no sample request for ${key}`);
    const res = await h.request(sample.path, {
      ...sample.init,
      ...(token === undefined ? {} : { token }),
    });
    // An event feed never ends by itself.
    await res.body?.cancel();
    if (key === 'POST /v1/freeze' && res.status === 200) {
      const resumed = await h.request('/v1/freeze', {
        method: 'DELETE',
        token: tokens.roles.admin,
      });
      expect(resumed.status).toBe(200);
    }
    return res;
  }

  it('every route the app serves is registered, declares an action, and is in this matrix', () => {
    const served = h.broker.app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z_]+)/g, '{$1}')}`);
    const keys = registered.map((r) => r.key);
    for (const route of served)
      expect(keys, `${route} is served but not registered`).toContain(route);
    for (const route of registered) {
      expect(EXPECTED[route.key], `${route.key} is missing from the matrix`).toBeDefined();
      expect(SAMPLES[route.key], `${route.key} has no sample request`).toBeDefined();
      expect(route.action, `${route.key} declares no action`).toBeDefined();
    }
    expect(new Set(keys)).toEqual(new Set(Object.keys(EXPECTED)));
    // No action in the table without a route (a stale rule nobody enforces).
    const used = new Set(registered.map((r) => r.action));
    for (const action of ACTIONS) expect(used, `${action} has no route`).toContain(action);
  });

  it("each route's declared action has the access rule this matrix expects", () => {
    for (const route of registered) {
      const expected = EXPECTED[route.key];
      const rule = route.action && ACCESS[route.action];
      expect(rule, route.key).toEqual(expected);
    }
  });

  const bearerKeys = Object.entries(EXPECTED).filter(
    (e): e is [string, Extract<Expected, { presented: 'bearer' }>] => e[1].presented === 'bearer',
  );

  describe.each(bearerKeys)('%s', (key, expected) => {
    it('no token, a malformed token or a broker-issued credential: 401', async () => {
      expect((await call(key, undefined)).status).toBe(401);
      expect((await call(key, 'not-a-token')).status).toBe(401);
      const credential = (await freshLease()).token;
      expect((await call(key, credential)).status).toBe(401);
    });

    if (expected.workload === undefined) {
      it('a workload token: 401', async () => {
        expect((await call(key, tokens.owner)).status).toBe(401);
        expect((await call(key, tokens.resourceServer)).status).toBe(401);
      });
    }

    const operator = expected.operator;
    if (operator === undefined) {
      it('an operator token or a break-glass token: 401', async () => {
        for (const role of ROLES) expect((await call(key, tokens.roles[role])).status).toBe(401);
        expect((await call(key, h.breakGlass.token)).status).toBe(401);
      });
    } else {
      it(`operators: no role is a 401, below ${operator} a 403, ${operator} and above pass`, async () => {
        expect((await call(key, tokens.noRole)).status).toBe(401);
        for (const role of ROLES) {
          const status = (await call(key, tokens.roles[role])).status;
          if (!ADMITTED[operator].includes(role)) expect(status, role).toBe(403);
          else expect([401, 403], role).not.toContain(status);
        }
        expect([401, 403]).not.toContain((await call(key, h.breakGlass.token)).status);
      });
    }

    const workload = expected.workload;
    if (workload !== undefined) {
      it(`workloads (${workload}): the right one passes, another finds nothing of the owner`, async () => {
        const lease = await freshLease();
        const sample = SAMPLES[key]?.(lease);
        if (!sample) throw new Error(`no sample request for ${key}`);
        const as = (token: string) => h.request(sample.path, { ...sample.init, token });
        if (workload === 'self') {
          expect([401, 403, 404]).not.toContain((await as(tokens.owner)).status);
        } else if (workload === 'resource_server') {
          const other = await as(tokens.other);
          expect(other.status).toBe(200);
          expect(await other.json()).toEqual({ active: false });
          const server = await as(tokens.resourceServer);
          expect(await server.json()).toMatchObject({ active: true, jti: lease.id });
        } else {
          if (key === 'GET /v1/leases') {
            const own = await h.request('/v1/credentials', {
              method: 'POST',
              token: tokens.other,
              json: SAMPLES['POST /v1/credentials']?.(lease).init.json,
            });
            expect(own.status).toBe(201);
          }
          const other = await as(tokens.other);
          if (key === 'GET /v1/leases') {
            // A listing shows another workload only its own leases, whatever it asks for.
            const listed = (await other.json()) as { leases: { workload: string }[] };
            expect(listed.leases.length).toBeGreaterThan(0);
            expect(listed.leases.every((l) => l.workload === 'agent-b')).toBe(true);
          } else if (key === 'GET /v1/approvals') {
            // The same for approvals: agent-a has some, agent-b is shown none of them.
            expect(other.status).toBe(200);
            const listed = (await other.json()) as { approvals: { workload: string }[] };
            expect(listed.approvals.every((a) => a.workload === 'agent-b')).toBe(true);
            const own = await as(tokens.owner);
            const mine = (await own.json()) as { approvals: { workload: string }[] };
            expect(mine.approvals.length).toBeGreaterThan(0);
          } else {
            expect(other.status).toBe(404);
          }
          expect([401, 403, 404]).not.toContain((await as(tokens.owner)).status);
        }
      });
    }
  });

  it('anonymous routes answer without a token', async () => {
    for (const [key, expected] of Object.entries(EXPECTED)) {
      if (expected.presented !== 'none') continue;
      expect([401, 403], key).not.toContain((await call(key, undefined)).status);
    }
  });

  it('/metrics needs the metrics token when one is set', async () => {
    expect((await call('GET /metrics', undefined)).status).toBe(401);
    expect((await call('GET /metrics', tokens.roles.admin)).status).toBe(401);
    expect((await call('GET /metrics', METRICS_TOKEN)).status).toBe(200);
  });

  it('/oauth/token: the grant is in the body; a bad or missing one is an RFC 6749 error', async () => {
    const grant = async (subjectToken: string | undefined) => {
      const form = new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        resource: 'tickets',
        scope: 'tickets:read',
        task_id: 'matrix-oauth',
        task_intent: 'triage',
        ...(subjectToken === undefined ? {} : { subject_token: subjectToken }),
      });
      const res = await h.request('/oauth/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
      return { status: res.status, body: (await res.json()) as { error?: string } };
    };
    expect(await grant(undefined)).toEqual({
      status: 400,
      body: expect.objectContaining({ error: 'invalid_request' }),
    });
    for (const wrong of [tokens.roles.admin, h.breakGlass.token, (await freshLease()).token]) {
      expect(await grant(wrong)).toEqual({
        status: 400,
        body: expect.objectContaining({ error: 'invalid_grant' }),
      });
    }
    expect((await grant(tokens.owner)).status).toBe(200);
  });
  it('/oauth/revoke: the client assertion is in the body; only the owner ends its token', async () => {
    const revoke = async (token: string, client: string | undefined) => {
      const form = new URLSearchParams({
        token,
        ...(client === undefined
          ? {}
          : {
              client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
              client_assertion: client,
            }),
      });
      const res = await h.request('/oauth/revoke', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
      return res.status;
    };
    const state = async (id: string) => {
      const res = await h.request(`/v1/leases/${id}`, { token: tokens.roles.viewer });
      return ((await res.json()) as { state: string }).state;
    };
    const lease = await freshLease();
    expect(await revoke(lease.token, undefined)).toBe(401);
    for (const wrong of [tokens.roles.admin, h.breakGlass.token, lease.token]) {
      expect(await revoke(lease.token, wrong)).toBe(401);
    }
    // Another workload: 200 as RFC 7009 says, and the lease lives on.
    expect(await revoke(lease.token, tokens.other)).toBe(200);
    expect(await state(lease.id)).toBe('active');
    expect(await revoke(lease.token, tokens.owner)).toBe(200);
    expect(await state(lease.id)).toBe('revoked');
  });
});
