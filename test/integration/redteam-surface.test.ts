import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { ID_JAG, signIdJag } from '../helpers/id-jag.js';
import {
  jwks,
  makeKey,
  signToken,
  type TestKey,
  writeJwksFile,
} from '../helpers/identity-support.js';
import { jwtTargetConfig } from '../helpers/jwt-target-config.js';
import { redisAvailable, requireService } from '../helpers/services.js';

/**
 * Attacks on `/oauth/token` across its grants: an enterprise user's ID-JAG presented where
 * a plain identity is read, and a resource's scope list side-stepped by naming its target.
 */

const BROKER = ID_JAG.broker;
const IDP = ID_JAG.idp;
const FILES = ID_JAG.resource;
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';

let h: Harness | undefined;
let idpKey: TestKey;
let jwksFile: string;

beforeAll(async () => {
  if (!(await requireService('redis', await redisAvailable()))) return;
  idpKey = await makeKey('idp-es', 'ES256');
  jwksFile = writeJwksFile(jwks(idpKey));
  const files = await jwtTargetConfig('files', FILES, 'f1');
  h = await startHarness({
    store: 'redis',
    configure(raw) {
      // The enterprise IdP is trusted twice: for ID-JAGs, and as an identity issuer whose
      // tokens name the broker as audience (users acting through an agent).
      (raw.issuers as unknown[]).push({
        name: 'acme-users',
        issuer: IDP,
        audience: BROKER,
        jwks_file: jwksFile,
        algorithms: ['ES256'],
      });
      // A workload run under an enterprise user's own identity (its tokens come from the IdP).
      (raw.workloads as unknown[]).push({
        id: 'user-agent',
        issuer: 'acme-users',
        subject: ID_JAG.user,
        tier: 'read',
      });
      raw.enterprise_idps = [
        { name: 'acme', issuer: IDP, jwks_file: jwksFile, algorithms: ['ES256'] },
      ];
      (raw.targets as unknown[]).push(files);
      (raw.policies as unknown[]).push({
        name: 'acme-users-files',
        workloads: ['agent-a', 'agent-b'],
        target: 'files',
        allow: { scopes: ['files:read', 'files:admin'] },
        intents: ['triage'],
        default_ttl: '2m',
        max_ttl: '5m',
        require_actor: true,
        when: `actor.issuer == '${IDP}'`,
      });
      (raw.policies as unknown[]).push({
        name: 'agents-files-direct',
        workloads: ['agent-a'],
        target: 'files',
        allow: { scopes: ['files:read', 'files:admin'] },
        intents: ['direct'],
        default_ttl: '2m',
        max_ttl: '5m',
      });
      raw.resources = [{ uri: FILES, target: 'files', scopes: ['files:read'] }];
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

/** An ID-JAG the IdP issued to agent-b for the files resource. */
function idJagForAgentB(): Promise<string> {
  return signIdJag(idpKey, { client_id: 'agent-b', scope: 'files:read' });
}

function post(hx: Harness, fields: Record<string, string>): Promise<Response> {
  return hx.request('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

describe('an ID-JAG is redeemed only as an ID-JAG', () => {
  it('is refused as the actor_token of a token exchange (no client binding, no one-time jti)', async (ctx) => {
    const hx = broker(ctx);
    // agent-a holds a grant the IdP issued to agent-b, and presents it as its actor.
    const stolen = await idJagForAgentB();
    const res = await post(hx, {
      grant_type: TOKEN_EXCHANGE,
      subject_token: await hx.workloadToken('spiffe://test/agent-a'),
      subject_token_type: TOKEN_TYPE_JWT,
      actor_token: stolen,
      actor_token_type: TOKEN_TYPE_JWT,
      resource: 'urn:jit-broker:target:files',
      scope: 'files:read',
      task_id: 'rt-actor',
      task_intent: 'triage',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
  });

  it('is refused as the subject_token of a token exchange', async (ctx) => {
    const hx = broker(ctx);
    const res = await post(hx, {
      grant_type: TOKEN_EXCHANGE,
      subject_token: await idJagForAgentB(),
      subject_token_type: TOKEN_TYPE_JWT,
      resource: 'urn:jit-broker:target:files',
      scope: 'files:read',
      task_id: 'rt-subject',
      task_intent: 'triage',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
  });
});

describe('an ID-JAG is no identity anywhere else', () => {
  it('is refused as the bearer of /v1, even for a workload its user maps to', async (ctx) => {
    const hx = broker(ctx);
    const grant = await signIdJag(idpKey, { aud: BROKER });
    const res = await hx.request('/v1/leases', { token: grant });
    expect(res.status).toBe(401);
    const events = await hx.flushedEvents();
    expect(JSON.stringify(events)).not.toContain(grant);
    const hash = createHash('sha256').update(grant).digest('hex');
    const refusals = events.filter((e) => e.type === 'auth.failed' && e.token_sha256 === hash);
    expect(refusals.map((e) => e.reason)).toEqual(['forbidden_header']);
    // The same user's ordinary identity token is accepted: only the grant is refused.
    const identity = await signToken(idpKey, {
      iss: IDP,
      sub: ID_JAG.user,
      aud: BROKER,
      iat: Math.floor(Date.now() / 1000),
      exp: Math.floor(Date.now() / 1000) + 300,
    });
    expect((await hx.request('/v1/leases', { token: identity })).status).toBe(200);
  });
});

describe("a resource's scope list holds however its target is named", () => {
  it('refuses a scope the resource does not list when the target is named by URN or name', async (ctx) => {
    const hx = broker(ctx);
    for (const resource of ['urn:jit-broker:target:files', 'files']) {
      const res = await post(hx, {
        grant_type: TOKEN_EXCHANGE,
        subject_token: await hx.workloadToken('spiffe://test/agent-a'),
        subject_token_type: TOKEN_TYPE_JWT,
        resource,
        scope: 'files:admin',
        task_id: 'rt-scope',
        task_intent: 'direct',
      });
      expect(res.status, resource).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_scope');
    }
  });

  it('still issues a listed scope by URN, with the resource as audience', async (ctx) => {
    const hx = broker(ctx);
    const res = await post(hx, {
      grant_type: TOKEN_EXCHANGE,
      subject_token: await hx.workloadToken('spiffe://test/agent-a'),
      subject_token_type: TOKEN_TYPE_JWT,
      resource: 'urn:jit-broker:target:files',
      scope: 'files:read',
      task_id: 'rt-scope-ok',
      task_intent: 'direct',
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string };
    expect(decodeJwt(body.access_token).aud).toBe(FILES);
  });
});

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CLIENT_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

async function redeemAsAgentA(hx: Harness, claims: Record<string, unknown>): Promise<Response> {
  const grant = await signIdJag(idpKey, { scope: 'files:read', ...claims });
  return post(hx, {
    grant_type: JWT_BEARER,
    assertion: grant,
    client_assertion_type: CLIENT_ASSERTION,
    client_assertion: await hx.workloadToken('spiffe://test/agent-a'),
    task_id: 'rt-jag',
    task_intent: 'triage',
  });
}

describe('ID-JAG claims an attacker bends', () => {
  it('redeems the grant as issued (the baseline the refusals below depart from)', async (ctx) => {
    const hx = broker(ctx);
    const res = await redeemAsAgentA(hx, {});
    expect(res.status).toBe(200);
  });

  it.for<[string, Record<string, unknown>]>([
    ['an audience array naming the broker and another party', { aud: [BROKER, FILES] }],
    ['an issuer with a trailing slash', { iss: `${IDP}/` }],
    ['the broker audience with a trailing slash', { aud: `${BROKER}/` }],
    ['a resource URI with a trailing slash', { resource: `${FILES}/` }],
    ['a resource array', { resource: [FILES] }],
  ])('refuses %s', async ([, claims], ctx) => {
    const hx = broker(ctx);
    const res = await redeemAsAgentA(hx, claims);
    expect(res.status).toBe(400);
    expect(['invalid_grant', 'invalid_target']).toContain(
      ((await res.json()) as { error: string }).error,
    );
  });
});

describe('parameter smuggling at /oauth/token', () => {
  it('refuses a repeated client_assertion, an upper-case grant type and a JSON body', async (ctx) => {
    const hx = broker(ctx);
    const assertion = await hx.workloadToken('spiffe://test/agent-a');
    const repeated = new URLSearchParams([
      ['grant_type', 'client_credentials'],
      ['client_assertion_type', CLIENT_ASSERTION],
      ['client_assertion', assertion],
      ['client_assertion', await hx.workloadToken('spiffe://test/agent-b')],
      ['resource', FILES],
      ['scope', 'files:read'],
      ['task_id', 'rt-smuggle'],
      ['task_intent', 'direct'],
    ]);
    const first = await hx.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: repeated.toString(),
    });
    expect(first.status).toBe(400);
    expect(((await first.json()) as { error: string }).error).toBe('invalid_request');

    const upper = await post(hx, {
      grant_type: 'CLIENT_CREDENTIALS',
      client_assertion_type: CLIENT_ASSERTION,
      client_assertion: assertion,
      resource: FILES,
      scope: 'files:read',
      task_id: 'rt-smuggle',
      task_intent: 'direct',
    });
    expect(upper.status).toBe(400);
    expect(((await upper.json()) as { error: string }).error).toBe('unsupported_grant_type');

    const json = await hx.request('/oauth/token', {
      method: 'POST',
      json: {
        grant_type: 'client_credentials',
        client_assertion_type: CLIENT_ASSERTION,
        client_assertion: assertion,
        resource: FILES,
        scope: 'files:read',
        task_id: 'rt-smuggle',
        task_intent: 'direct',
      },
    });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { error: string }).error).toBe('invalid_request');
    expect(hx.logs.text).not.toContain(assertion);
  });

  it('refuses a resource and an audience that name two targets', async (ctx) => {
    const hx = broker(ctx);
    const res = await post(hx, {
      grant_type: TOKEN_EXCHANGE,
      subject_token: await hx.workloadToken('spiffe://test/agent-a'),
      subject_token_type: TOKEN_TYPE_JWT,
      resource: FILES,
      audience: 'urn:jit-broker:target:tickets',
      scope: 'files:read',
      task_id: 'rt-two',
      task_intent: 'direct',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_target');
  });
});

describe('revocation with a borrowed credential', () => {
  it("refuses an ID-JAG as the client assertion of /oauth/revoke, and agent-a's token lives on", async (ctx) => {
    const hx = broker(ctx);
    const issued = await post(hx, {
      grant_type: TOKEN_EXCHANGE,
      subject_token: await hx.workloadToken('spiffe://test/agent-a'),
      subject_token_type: TOKEN_TYPE_JWT,
      resource: FILES,
      scope: 'files:read',
      task_id: 'rt-revoke',
      task_intent: 'direct',
    });
    expect(issued.status).toBe(200);
    const { access_token: token, lease_id: leaseId } = (await issued.json()) as {
      access_token: string;
      lease_id: string;
    };
    const res = await hx.request('/oauth/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token,
        client_assertion_type: CLIENT_ASSERTION,
        client_assertion: await idJagForAgentB(),
      }).toString(),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_client');
    const lease = await hx.request(`/v1/leases/${leaseId}`, {
      token: await hx.operatorToken(['viewer']),
    });
    expect(((await lease.json()) as { state: string }).state).toBe('active');
    expect(hx.logs.text).not.toContain(token);
  });
});
