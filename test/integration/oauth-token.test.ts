import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scopeFromString, scopeToString } from '../../src/api/oauth/scope-string.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { sha256 } from '../helpers/identity-support.js';
import { jwtTargetConfig } from '../helpers/jwt-target-config.js';
import { eventMatching, type ProfileIssuers, profileIssuers } from '../helpers/profile-issuers.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';

let h: Harness;
let issuers: ProfileIssuers;

beforeAll(async () => {
  issuers = await profileIssuers();
  const admin = await jwtTargetConfig('tickets-admin', 'https://tickets-admin.test.example', 'a1');
  h = await startHarness({
    configure(raw) {
      issuers.configure(raw);
      (raw.targets as unknown[]).push(admin);
      (raw.policies as unknown[]).push({
        name: 'approved-admin',
        workloads: ['svid-agent'],
        target: 'tickets-admin',
        allow: { scopes: ['tickets:admin'] },
        intents: ['triage'],
        default_ttl: '2m',
        max_ttl: '5m',
        require_actor: true,
        when: "actor.issuer == 'https://agents.test.example' && actor.claims.approved == true && actor.claims.task_id == task.id",
      });
    },
  });
});

afterAll(async () => {
  await h.close();
  issuers.remove();
});

function post(
  fields: Record<string, string> | string,
  contentType = 'application/x-www-form-urlencoded',
) {
  return h.request('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof fields === 'string' ? fields : new URLSearchParams(fields).toString(),
  });
}

async function exchangeFields(
  overrides: Record<string, string | undefined> = {},
): Promise<Record<string, string>> {
  const fields: Record<string, string | undefined> = {
    grant_type: TOKEN_EXCHANGE,
    subject_token: await issuers.svid(),
    subject_token_type: JWT,
    audience: 'tickets',
    scope: 'tickets:read',
    task_id: 'task-7',
    task_intent: 'triage',
    ...overrides,
  };
  return Object.fromEntries(
    Object.entries(fields).filter((e): e is [string, string] => e[1] !== undefined),
  );
}

async function expectError(
  res: Response,
  status: number,
  error: string,
): Promise<Record<string, string>> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/json');
  expect(res.headers.get('cache-control')).toBe('no-store');
  const body = (await res.json()) as Record<string, string>;
  expect(body.error).toBe(error);
  return body;
}

describe('POST /oauth/token errors (RFC 6749 §5.2)', () => {
  it('refuses a grant type it does not support', async () => {
    await expectError(
      await post(await exchangeFields({ grant_type: 'password' })),
      400,
      'unsupported_grant_type',
    );
  });

  it.each(['subject_token', 'subject_token_type', 'task_id', 'task_intent'])(
    'requires %s',
    async (name) => {
      await expectError(
        await post(await exchangeFields({ [name]: undefined })),
        400,
        'invalid_request',
      );
    },
  );

  it('refuses an unknown subject_token_type, a lone actor_token_type, and a bad task', async () => {
    await expectError(
      await post(
        await exchangeFields({ subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' }),
      ),
      400,
      'invalid_request',
    );
    await expectError(
      await post(await exchangeFields({ actor_token_type: JWT })),
      400,
      'invalid_request',
    );
    await expectError(
      await post(await exchangeFields({ task_id: 'task 7; rm -rf' })),
      400,
      'invalid_request',
    );
  });

  it('refuses repeated parameters and a body that is not a form', async () => {
    const fields = new URLSearchParams(await exchangeFields());
    fields.append('scope', 'tickets:comment');
    await expectError(await post(fields.toString()), 400, 'invalid_request');
    await expectError(
      await post(JSON.stringify(await exchangeFields()), 'application/json'),
      400,
      'invalid_request',
    );
  });

  it('answers invalid_target for an unknown target, or for two', async () => {
    await expectError(
      await post(await exchangeFields({ audience: 'nowhere' })),
      400,
      'invalid_target',
    );
    await expectError(
      await post(await exchangeFields({ resource: 'urn:jit-broker:target:tickets-admin' })),
      400,
      'invalid_target',
    );
    await expectError(
      await post(await exchangeFields({ audience: undefined })),
      400,
      'invalid_request',
    );
  });

  it('answers invalid_scope for a scope beyond the ceiling, a malformed one, or none', async () => {
    await expectError(
      await post(await exchangeFields({ scope: 'tickets:delete' })),
      400,
      'invalid_scope',
    );
    await expectError(
      await post(await exchangeFields({ scope: 'roles=admin' })),
      400,
      'invalid_scope',
    );
    await expectError(await post(await exchangeFields({ scope: 'a"b' })), 400, 'invalid_scope');
    await expectError(await post(await exchangeFields({ scope: undefined })), 400, 'invalid_scope');
  });

  it('answers invalid_grant for a subject token that fails, with an auth.failed event and no token', async () => {
    const forged = await issuers.svid({ exp: Math.floor(Date.now() / 1000) - 120 });
    const res = await post(await exchangeFields({ subject_token: forged }));
    await expectError(res, 400, 'invalid_grant');
    const event = await eventMatching(
      () => h.events.events,
      (e) => e.type === 'auth.failed' && e.token_sha256 === sha256(forged),
    );
    expect(event).toMatchObject({
      reason: 'expired',
      detail: { parameter: 'subject_token', path: '/oauth/token' },
    });
    expect(h.events.text).not.toContain(forged);
    expect(h.logs.text).not.toContain(forged);
  });

  it('answers unauthorized_client when policy denies', async () => {
    const body = await expectError(
      await post(await exchangeFields({ audience: 'tickets-admin', scope: 'tickets:admin' })),
      400,
      'unauthorized_client',
    );
    expect(body.error_description).toContain('actor');
  });
});

describe('actor tokens', () => {
  it('records a verified actor on the lease and in the credential, and lets policy require it', async () => {
    const res = await post(
      await exchangeFields({
        audience: 'tickets-admin',
        scope: 'tickets:admin',
        actor_token: await issuers.taskToken(),
        actor_token_type: JWT,
      }),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; lease_id: string };
    // The workload acts, on behalf of the verified actor (RFC 8693 §4.1 nesting).
    expect(decodeJwt(body.access_token).act).toEqual({
      sub: 'spiffe://prod.test.example/agents/triage',
      iss: 'spiffe://prod.test.example',
      act: { sub: 'user:alice@example.com', iss: 'https://agents.test.example' },
    });
    const lease = await h.request(`/v1/leases/${body.lease_id}`, { token: await issuers.svid() });
    expect(((await lease.json()) as { actor?: string }).actor).toBe('user:alice@example.com');
  });

  it('decides on the signed actor claims, not the workload hints', async () => {
    const res = await post(
      await exchangeFields({
        audience: 'tickets-admin',
        scope: 'tickets:admin',
        actor_token: await issuers.taskToken({ task_id: 'another-task' }),
        actor_token_type: JWT,
      }),
    );
    await expectError(res, 400, 'unauthorized_client');
  });

  it('refuses an actor token that does not verify, and one that is the subject itself', async () => {
    const bad = await issuers.taskToken({ aud: 'someone-else' });
    const res = await post(await exchangeFields({ actor_token: bad, actor_token_type: JWT }));
    await expectError(res, 400, 'invalid_grant');
    const event = await eventMatching(
      () => h.events.events,
      (e) => e.type === 'auth.failed' && e.token_sha256 === sha256(bad),
    );
    expect(event).toMatchObject({
      reason: 'audience_mismatch',
      detail: { parameter: 'actor_token' },
    });
    const subject = await issuers.svid();
    await expectError(
      await post(
        await exchangeFields({
          subject_token: subject,
          actor_token: subject,
          actor_token_type: JWT,
        }),
      ),
      400,
      'invalid_request',
    );
    await expectError(
      await post(
        await exchangeFields({
          subject_token: await issuers.svid(),
          actor_token: await issuers.svid({ jti: 'other' }),
          actor_token_type: JWT,
        }),
      ),
      400,
      'invalid_request',
    );
  });

  it('takes no actor on jwt-bearer', async () => {
    const res = await post({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: await issuers.svid(),
      actor_token: await issuers.taskToken(),
      actor_token_type: JWT,
      audience: 'tickets',
      scope: 'tickets:read',
      task_id: 't',
      task_intent: 'triage',
    });
    await expectError(res, 400, 'invalid_request');
  });
});

describe('scope strings', () => {
  it('reads bare tokens as jwt scopes and field=value as provider fields', () => {
    expect(scopeFromString('tickets:read  tickets:comment')).toEqual({
      scopes: ['tickets:read', 'tickets:comment'],
    });
    expect(scopeFromString('roles=app_read roles=app_write')).toEqual({
      roles: ['app_read', 'app_write'],
    });
    expect(
      scopeFromString(
        'repositories=acme/app permissions.contents=read permissions.pull_requests=write',
      ),
    ).toEqual({
      repositories: ['acme/app'],
      permissions: { contents: 'read', pull_requests: 'write' },
    });
    expect(scopeFromString('keys=cache:* categories=read')).toEqual({
      keys: ['cache:*'],
      categories: ['read'],
    });
  });

  it.each([
    '',
    'a"b',
    'a\\b',
    'Roles=x',
    'a.b.c=x',
    'roles=',
    'p.k=a p.k=b',
    'p=a p.k=b',
    `${'s '.repeat(65)}`,
  ])('refuses %j', (text) => {
    expect(() => scopeFromString(text)).toThrow();
  });

  it('writes a granted scope back in the same syntax', () => {
    for (const text of [
      'tickets:read tickets:comment',
      'roles=a roles=b',
      'repositories=acme/app permissions.contents=read',
    ]) {
      expect(scopeToString(scopeFromString(text))).toBe(text);
    }
    expect(scopeToString({ ttl: 5 })).toBeUndefined();
  });
});
