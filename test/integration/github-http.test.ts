import { request as octokitRequest } from '@octokit/request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GithubCredential } from '../../providers/github/index.js';
import { type GitHubFake, startGitHubFake } from '../fakes/github.js';
import { startTargetBroker, type TargetBroker } from '../helpers/account-drills.js';
import { sleep } from '../helpers/broker-harness.js';
import { githubTarget } from '../helpers/github-fake-target.js';
import {
  activeLeases,
  eventually,
  expectNoSecretOutput,
  type IssuedLease,
  leaseState,
  refusedCredential,
  revokeLease,
  revokeWorkload,
} from '../helpers/lease-http.js';

/*
 * The github provider end to end: the broker's HTTP API, the real @octokit/auth-app and
 * @octokit/request, and a GitHub REST fake that checks the App JWT's signature and serves
 * what a workload does with its token.
 */

const REQUEST = {
  target: 'github-acme',
  scope: { repositories: ['acme/api'], permissions: { contents: 'read' } },
  task: { id: 'gh-1', intent: 'code-review' },
};

describe('github installation tokens over the HTTP API', () => {
  let fake: GitHubFake;
  let broker: TargetBroker;
  const secrets: string[] = [];

  beforeAll(async () => {
    fake = await startGitHubFake({ owner: 'acme', repositories: ['api', 'web', 'docs'] });
    secrets.push(fake.privateKeyPem.split('\n')[1] ?? 'x'.repeat(16));
    broker = await startTargetBroker({
      store: 'memory',
      target: githubTarget(fake, 'github-acme', { revoke_concurrency: 4 }),
      policy: {
        name: 'agents-read-code',
        workloads: ['agent-a', 'agent-b'],
        target: 'github-acme',
        allow: { repositories: ['acme/*'], permissions: { contents: 'write', metadata: 'read' } },
        intents: ['code-review'],
        default_ttl: '5m',
        max_ttl: '15m',
      },
    });
  });

  afterAll(async () => {
    await broker?.h.close();
    await fake?.close();
  });

  const gh = () => octokitRequest.defaults({ baseUrl: fake.url });

  async function issue(body: object = REQUEST, token = broker.agentA) {
    const res = await broker.h.request('/v1/credentials', { method: 'POST', token, json: body });
    const payload = (await res.json()) as IssuedLease<GithubCredential> & { code?: string };
    expect(res.status, `refused: ${payload.code}`).toBe(201);
    secrets.push(payload.credential.token);
    return payload;
  }

  /** The status GitHub answers the token for `GET /repos/{owner}/{repo}`. */
  async function repoStatus(token: string, repo = 'api'): Promise<number> {
    try {
      const res = await gh()('GET /repos/{owner}/{repo}', {
        owner: 'acme',
        repo,
        headers: { authorization: `token ${token}` },
      });
      return res.status;
    } catch (err) {
      return (err as { status: number }).status;
    }
  }

  it('mints a token for exactly the repositories and permissions asked, once, then revokes it', async () => {
    const issued = await issue();
    expect(issued.credential).toMatchObject({
      token_type: 'token',
      repositories: ['acme/api'],
      permissions: { contents: 'read' },
    });
    expect(issued.credential.token).toMatch(/^ghs_/);
    // What GitHub was asked for: exactly the scope, by name.
    const minted = fake.requests.filter((r) => r.path.endsWith('/access_tokens')).at(-1);
    expect(minted?.body).toEqual({ repositories: ['api'], permissions: { contents: 'read' } });
    expect(fake.liveTokens().map((t) => t.token)).toContain(issued.credential.token);

    expect(await repoStatus(issued.credential.token)).toBe(200);
    expect(await repoStatus(issued.credential.token, 'web')).toBe(404);

    // The lease shows no token, and neither do events nor logs.
    const lease = await broker.h.request(`/v1/leases/${issued.lease_id}`, { token: broker.agentA });
    expect(JSON.stringify(await lease.json())).not.toContain(issued.credential.token);

    await revokeLease(broker.h, broker.agentA, issued.lease_id);
    expect(await repoStatus(issued.credential.token)).toBe(401);
    expect(fake.liveTokens().map((t) => t.token)).not.toContain(issued.credential.token);
    expectNoSecretOutput(broker.h, secrets);
  });

  it('every lease gets its own token: revoking one leaves the other working', async () => {
    const a = await issue();
    const b = await issue();
    expect(a.credential.token).not.toBe(b.credential.token);
    await revokeLease(broker.h, broker.agentA, a.lease_id);
    expect(await repoStatus(a.credential.token)).toBe(401);
    expect(await repoStatus(b.credential.token)).toBe(200);
    await revokeLease(broker.h, broker.agentA, b.lease_id);
  });

  it('refuses, before calling GitHub, what the policy or the target does not allow', async () => {
    const before = fake.requests.length;
    for (const [scope, code] of [
      [{ repositories: ['other/api'], permissions: { contents: 'read' } }, 'scope_exceeds_ceiling'],
      [{ repositories: ['acme/api'], permissions: { issues: 'read' } }, 'scope_exceeds_ceiling'],
      [{ repositories: ['acme/api'], permissions: {} }, 'scope_invalid'],
      [{ repositories: [], permissions: { contents: 'read' } }, 'scope_invalid'],
    ] as const) {
      const problem = await refusedCredential(broker.h, broker.agentA, { ...REQUEST, scope });
      expect(problem.code, JSON.stringify(scope)).toBe(code);
    }
    expect(fake.requests.length).toBe(before);
  });

  it('a scope GitHub will not grant is a 422 for the caller, and no lease stays active', async () => {
    const problem = await refusedCredential(broker.h, broker.agentA, {
      ...REQUEST,
      scope: { repositories: ['acme/ghost'], permissions: { contents: 'read' } },
    });
    expect(problem.status).toBe(422);
    expect(problem.code).toBe('scope_invalid');
    expect(await activeLeases(broker.h, 'agent-a')).toEqual([]);
  });

  /** The next token GitHub mints is this answer instead. */
  function nextGrant(token: string, grant: { permissions: object; repositories?: string[] }) {
    fake.failNext(
      { method: 'POST', path: `/app/installations/${fake.installationId}/access_tokens` },
      {
        status: 201,
        body: {
          token,
          expires_at: new Date(Date.now() + 3_600_000).toISOString(),
          permissions: grant.permissions,
          repository_selection: grant.repositories === undefined ? 'all' : 'selected',
          ...(grant.repositories === undefined
            ? {}
            : {
                repositories: grant.repositories.map((full, i) => ({
                  id: i + 1,
                  name: full.split('/')[1],
                  full_name: full,
                })),
              }),
        },
      },
    );
  }

  it('a grant other than the request is revoked at once and refused', async () => {
    for (const [n, grant] of [
      { permissions: { contents: 'write' }, repositories: ['acme/api'] },
      // Same name, another owner: compared by full name.
      { permissions: { contents: 'read' }, repositories: ['evil/api'] },
      // Every repository of the installation.
      { permissions: { contents: 'read' } },
    ].entries()) {
      const wider = `ghs_${String(n).repeat(36)}`;
      nextGrant(wider, grant);
      const problem = await refusedCredential(broker.h, broker.agentA, REQUEST);
      expect(problem, JSON.stringify(grant)).toEqual({ status: 502, code: 'provider_failed' });
      const revoked = fake.requests.filter((r) => r.method === 'DELETE').at(-1);
      expect(revoked?.headers.authorization).toBe(`token ${wider}`);
      expect(broker.h.events.text).not.toContain(wider);
    }
  });

  it('the metadata: read GitHub adds to every token is not a wider grant', async () => {
    nextGrant(`ghs_${'M'.repeat(36)}`, {
      permissions: { contents: 'read', metadata: 'read' },
      repositories: ['acme/api'],
    });
    const issued = await issue();
    expect(issued.credential.permissions).toEqual({ contents: 'read' });
    await revokeLease(broker.h, broker.agentA, issued.lease_id);
  });

  it('concurrent identical requests still get one token each', async () => {
    const issued = await Promise.all([issue(), issue(), issue(), issue()]);
    expect(new Set(issued.map((i) => i.credential.token)).size).toBe(4);
    await revokeLease(broker.h, broker.agentA, issued[0]?.lease_id ?? '');
    for (const other of issued.slice(1)) expect(await repoStatus(other.credential.token)).toBe(200);
    for (const other of issued.slice(1)) await revokeLease(broker.h, broker.agentA, other.lease_id);
  });

  it('a target whose App key GitHub does not accept fails closed and says so in readiness', async () => {
    const other = await startGitHubFake({ owner: 'acme' });
    const misconfigured = await startTargetBroker({
      store: 'memory',
      target: {
        name: 'github-acme',
        provider: 'github',
        app_id: fake.appId,
        installation_id: fake.installationId,
        private_key: other.privateKeyPem,
        base_url: fake.url,
      },
      policy: {
        name: 'agents-read-code',
        workloads: ['agent-a'],
        target: 'github-acme',
        allow: { repositories: ['acme/*'], permissions: { contents: 'read' } },
        intents: ['code-review'],
        default_ttl: '5m',
        max_ttl: '15m',
      },
    });
    try {
      const problem = await refusedCredential(misconfigured.h, misconfigured.agentA, REQUEST);
      // GitHub refused the broker's own App key: an operator's to fix, said with its own code.
      expect(problem).toEqual({ status: 502, code: 'provider_misconfigured' });
      const viewer = await misconfigured.h.operatorToken(['viewer']);
      const ready = (await (
        await misconfigured.h.request('/v1/readiness', { token: viewer })
      ).json()) as {
        checks: Record<string, { ok: boolean; detail?: string }>;
      };
      expect(ready.checks['target:github-acme']).toMatchObject({
        ok: false,
      });
      expectNoSecretOutput(misconfigured.h, [other.privateKeyPem.split('\n')[1] ?? '']);
    } finally {
      await misconfigured.h.close();
      await other.close();
    }
  });

  it('the kill switch revokes every token of the workload at GitHub, and no other', async () => {
    const mine = await Promise.all([issue(), issue(), issue()]);
    const bystander = await issue(REQUEST, broker.agentB);
    const counts = await revokeWorkload(broker.h, 'agent-a');
    expect(counts).toMatchObject({ revoked: 3, failed: 0 });
    for (const issued of mine) expect(await repoStatus(issued.credential.token)).toBe(401);
    expect(await repoStatus(bystander.credential.token)).toBe(200);
    await revokeLease(broker.h, broker.agentB, bystander.lease_id);
  });

  it('a rate-limited revocation is retried until GitHub takes it', async () => {
    const issued = await issue();
    fake.failNext(
      { method: 'DELETE', path: '/installation/token' },
      {
        status: 403,
        body: { message: 'API rate limit exceeded' },
        headers: { 'x-ratelimit-remaining': '0' },
      },
    );
    const res = await broker.h.request(`/v1/leases/${issued.lease_id}`, {
      method: 'DELETE',
      token: broker.agentA,
    });
    // GitHub said no for now: the lease stays revoking, the reaper retries with backoff.
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ state: 'revoking' });
    expect(await repoStatus(issued.credential.token)).toBe(200);
    expect(
      await eventually(
        async () => (await leaseState(broker.h, broker.agentA, issued.lease_id)) === 'revoked',
        10_000,
      ),
    ).toBe(true);
    expect(await repoStatus(issued.credential.token)).toBe(401);
  });

  it('token exchange (POST /oauth/token) hands out the installation token as a bearer token', async () => {
    const res = await broker.h.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: broker.agentA,
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        audience: 'github-acme',
        scope: 'repositories=acme/api permissions.contents=read',
        task_id: 'gh-oauth',
        task_intent: 'code-review',
      }).toString(),
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      provider: 'github',
    });
    const token = String(body.access_token);
    secrets.push(token);
    expect(token).toMatch(/^ghs_/);
    expect(await repoStatus(token)).toBe(200);
    await revokeLease(broker.h, broker.agentA, String(body.lease_id));
    expect(await repoStatus(token)).toBe(401);
  });

  it('renewal answers not_renewable (installation tokens cannot be extended)', async () => {
    const issued = await issue();
    const res = await broker.h.request(`/v1/leases/${issued.lease_id}/renew`, {
      method: 'POST',
      token: broker.agentA,
      json: { ttl: 600 },
    });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ code: 'not_renewable' });
    await revokeLease(broker.h, broker.agentA, issued.lease_id);
  });

  it('the reaper revokes the token at GitHub when the lease expires', async () => {
    const issued = await issue({ ...REQUEST, ttl: 1 });
    expect(await repoStatus(issued.credential.token)).toBe(200);
    await sleep(1_000);
    expect(
      await eventually(async () => (await repoStatus(issued.credential.token)) === 401, 8_000),
    ).toBe(true);
    expect(await leaseState(broker.h, broker.agentA, issued.lease_id)).toBe('expired');
  });
});
