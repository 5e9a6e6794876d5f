import { generateKeyPairSync } from 'node:crypto';
import { createAppAuth } from '@octokit/auth-app';
import { request } from '@octokit/request';
import { RequestError } from '@octokit/request-error';
import { importPKCS8, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import {
  GITHUB_MESSAGES,
  type GitHubFake,
  type GitHubFakeOptions,
  startGitHubFake,
} from '../../fakes/github.js';
import { settlesBefore } from '../../helpers/race.js';

const fakes: GitHubFake[] = [];

afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function start(options: GitHubFakeOptions = {}): Promise<GitHubFake> {
  const fake = await startGitHubFake(options);
  fakes.push(fake);
  return fake;
}

function appAuth(
  fake: GitHubFake,
  privateKey = fake.privateKeyPem,
  appId: string | number = fake.appId,
) {
  return createAppAuth({
    appId,
    privateKey,
    installationId: fake.installationId,
    request: request.defaults({ baseUrl: fake.url }),
    log: { warn: () => {} },
  });
}

async function mint(
  fake: GitHubFake,
  repositoryNames: string[] = ['api'],
  permissions: Record<string, string> = { contents: 'read' },
): Promise<string> {
  const auth = await appAuth(fake)({
    type: 'installation',
    repositoryNames,
    permissions,
    refresh: true,
  });
  return auth.token;
}

/** `request` bound to the fake, authenticated with an installation token. */
function as(fake: GitHubFake, token: string) {
  return request.defaults({ baseUrl: fake.url, headers: { authorization: `token ${token}` } });
}

interface Failure {
  status: number;
  message: unknown;
  data: unknown;
  headers: Record<string, unknown>;
}

async function failureOf(promise: Promise<unknown>): Promise<Failure> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(RequestError);
    const e = error as RequestError;
    const data = e.response?.data as { message?: unknown } | undefined;
    return { status: e.status, message: data?.message, data, headers: e.response?.headers ?? {} };
  }
  throw new Error('expected the request to fail');
}

async function signAppJwt(
  fake: GitHubFake,
  claims: { iss?: string | number; iat: number; exp: number },
): Promise<string> {
  const key = await importPKCS8(fake.privateKeyPem, 'RS256');
  // jose types `iss` as a string; octokit sends whatever appId it was given, numbers included.
  const payload: Record<string, unknown> = {};
  if (claims.iss !== undefined) payload.iss = claims.iss;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .sign(key);
}

function postAccessToken(fake: GitHubFake, jwt: string, body: Record<string, unknown> = {}) {
  return request('POST /app/installations/{installation_id}/access_tokens', {
    baseUrl: fake.url,
    installation_id: fake.installationId,
    headers: { authorization: `bearer ${jwt}` },
    ...body,
  });
}

const nowS = () => Math.floor(Date.now() / 1000);

describe('installation tokens minted by the real @octokit/auth-app', () => {
  it('speaks the wire protocol octokit uses for the app JWT and the token request', async () => {
    const fake = await start();
    const token = await mint(fake);
    expect(token).toMatch(/^ghs_[A-Za-z0-9]{36}$/);

    const post = fake.requests.find((r) => r.method === 'POST');
    expect(post?.path).toBe(`/app/installations/${fake.installationId}/access_tokens`);
    expect(post?.headers.authorization).toMatch(/^bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(post?.body).toEqual({ repositories: ['api'], permissions: { contents: 'read' } });

    expect(fake.liveTokens()).toEqual([
      {
        token,
        repositories: ['api'],
        permissions: { contents: 'read' },
        expiresAt: expect.any(Number),
      },
    ]);
    const [live] = fake.liveTokens();
    expect(live!.expiresAt - Date.now()).toBeGreaterThan(3_590_000);
  });

  it('returns GitHub-shaped token fields to a direct caller', async () => {
    const fake = await start();
    const auth = appAuth(fake);
    const { token: jwt } = await auth({ type: 'app' });
    const res = await postAccessToken(fake, jwt, { repositories: ['web', 'api'] });
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.data.token).toMatch(/^ghs_[A-Za-z0-9]{36}$/);
    expect(res.data.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(res.data.repository_selection).toBe('selected');
    expect(res.data.permissions).toEqual({
      contents: 'write',
      pull_requests: 'write',
      issues: 'write',
      metadata: 'read',
    });
    expect(res.data.repositories?.map((r) => [r.name, r.full_name, r.private])).toEqual([
      ['web', 'acme/web', true],
      ['api', 'acme/api', true],
    ]);

    const all = await postAccessToken(fake, jwt);
    expect(all.data.repository_selection).toBe('all');
    expect(all.data.repositories).toBeUndefined();
    expect(fake.liveTokens().find((t) => t.token === all.data.token)?.repositories).toEqual([
      'api',
      'web',
      'docs',
    ]);
  });

  it('accepts a numeric iss, as octokit sends when appId is a number', async () => {
    const fake = await start();
    const numeric = await appAuth(
      fake,
      fake.privateKeyPem,
      Number(fake.appId),
    )({
      type: 'installation',
      refresh: true,
    });
    expect(numeric.token).toMatch(/^ghs_/);
    const jwt = await signAppJwt(fake, {
      iss: Number(fake.appId),
      iat: nowS() - 30,
      exp: nowS() + 500,
    });
    expect((await postAccessToken(fake, jwt)).status).toBe(201);
  });

  it('serves GET /app/installations/{id} through the auth hook, 404 for another id', async () => {
    const fake = await start();
    const auth = appAuth(fake);
    const withApp = request.defaults({ baseUrl: fake.url, request: { hook: auth.hook } });
    const res = await withApp('GET /app/installations/{installation_id}', {
      installation_id: fake.installationId,
    });
    expect(res.data).toMatchObject({
      id: fake.installationId,
      account: { login: 'acme', type: 'Organization' },
      repository_selection: 'selected',
      app_id: Number(fake.appId),
      permissions: { contents: 'write', metadata: 'read' },
    });
    const other = await failureOf(
      withApp('GET /app/installations/{installation_id}', { installation_id: 1 }),
    );
    expect(other).toMatchObject({ status: 404, message: 'Not Found' });
    expect(
      (
        await failureOf(
          request('GET /app/installations/{installation_id}', {
            baseUrl: fake.url,
            installation_id: fake.installationId,
          }),
        )
      ).status,
    ).toBe(401);
  });
});

describe('what a token grants', () => {
  it('works only on its repository and at its permission level', async () => {
    const fake = await start();
    const gh = as(fake, await mint(fake, ['api'], { contents: 'read' }));

    const repo = await gh('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'api' });
    expect(repo.data).toMatchObject({ name: 'api', full_name: 'acme/api', private: true });

    const file = await gh('GET /repos/{owner}/{repo}/contents/{path}', {
      owner: 'acme',
      repo: 'api',
      path: 'src/index.ts',
    });
    expect(file.data).toMatchObject({ type: 'file', name: 'index.ts', path: 'src/index.ts' });
    const content = (file.data as { content: string }).content;
    expect(Buffer.from(content, 'base64').toString()).toBe('hello');

    const put = await failureOf(
      gh('PUT /repos/{owner}/{repo}/contents/{path}', {
        owner: 'acme',
        repo: 'api',
        path: 'README.md',
        message: 'x',
        content: Buffer.from('x').toString('base64'),
      }),
    );
    expect(put).toMatchObject({ status: 403, message: 'Resource not accessible by integration' });
    expect(put.data).toEqual({
      message: 'Resource not accessible by integration',
      documentation_url: 'https://docs.github.com/rest',
      status: '403',
    });
    expect(put.headers['content-type']).toBe('application/json; charset=utf-8');

    for (const repoName of ['web', 'docs', 'nope']) {
      const other = await failureOf(
        gh('GET /repos/{owner}/{repo}', { owner: 'acme', repo: repoName }),
      );
      expect(other).toMatchObject({ status: 404, message: 'Not Found' });
    }
    const otherOwner = await failureOf(
      gh('GET /repos/{owner}/{repo}', { owner: 'evil', repo: 'api' }),
    );
    expect(otherOwner.status).toBe(404);
    const otherContents = await failureOf(
      gh('GET /repos/{owner}/{repo}/contents/{path}', { owner: 'acme', repo: 'web', path: 'a' }),
    );
    expect(otherContents.status).toBe(404);

    const listed = await gh('GET /installation/repositories');
    expect(listed.data.total_count).toBe(1);
    expect(listed.data.repositories.map((r) => r.full_name)).toEqual(['acme/api']);
  });

  it('lets a contents:write token write, and a token without contents read nothing', async () => {
    const fake = await start();
    const writer = as(fake, await mint(fake, ['web'], { contents: 'write' }));
    const put = await writer('PUT /repos/{owner}/{repo}/contents/{path}', {
      owner: 'acme',
      repo: 'web',
      path: 'docs/a.md',
      message: 'add a',
      content: Buffer.from('a').toString('base64'),
    });
    expect(put.status).toBe(201);
    expect(put.data.commit.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(put.data.content?.path).toBe('docs/a.md');

    const issuesOnly = as(fake, await mint(fake, ['web'], { issues: 'read' }));
    const read = await failureOf(
      issuesOnly('GET /repos/{owner}/{repo}/contents/{path}', {
        owner: 'acme',
        repo: 'web',
        path: 'a',
      }),
    );
    expect(read).toMatchObject({ status: 403, message: 'Resource not accessible by integration' });
  });

  it('revokes on DELETE /installation/token: 204, then 401 everywhere, a second DELETE 401', async () => {
    const fake = await start();
    const token = await mint(fake);
    const keep = await mint(fake, ['docs']);
    const gh = as(fake, token);

    const del = await gh('DELETE /installation/token');
    expect(del.status).toBe(204);
    const raw = fake.requests.at(-1);
    expect(raw).toMatchObject({ method: 'DELETE', path: '/installation/token' });
    expect(raw?.headers.authorization).toBe(`token ${token}`);

    expect(fake.liveTokens().map((t) => t.token)).toEqual([keep]);
    const calls: Promise<unknown>[] = [
      gh('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'api' }),
      gh('GET /installation/repositories'),
      gh('GET /repos/{owner}/{repo}/contents/{path}', { owner: 'acme', repo: 'api', path: 'a' }),
      gh('DELETE /installation/token'),
    ];
    for (const call of calls) {
      expect(await failureOf(call)).toMatchObject({ status: 401, message: 'Bad credentials' });
    }
    // The other token is untouched; `bearer ghs_…` is accepted too.
    const bearer = request.defaults({
      baseUrl: fake.url,
      headers: { authorization: `Bearer ${keep}` },
    });
    expect(
      (await bearer('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'docs' })).status,
    ).toBe(200);
  });

  it('expires tokens after tokenTtlMs', async () => {
    const fake = await start({ tokenTtlMs: 400 });
    const token = await mint(fake);
    const gh = as(fake, token);
    expect((await gh('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'api' })).status).toBe(
      200,
    );
    expect(fake.liveTokens()).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(fake.liveTokens()).toEqual([]);
    const after = await failureOf(gh('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'api' }));
    expect(after).toMatchObject({ status: 401, message: 'Bad credentials' });
    expect((await failureOf(gh('DELETE /installation/token'))).status).toBe(401);
  });
});

describe('app JWT checks', () => {
  it('rejects a JWT signed by another RSA key', async () => {
    const fake = await start();
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const failure = await failureOf(appAuth(fake, other)({ type: 'installation', refresh: true }));
    expect(failure).toMatchObject({ status: 401, message: GITHUB_MESSAGES.jwtUndecodable });
    expect(fake.liveTokens()).toEqual([]);
  });

  it('rejects a JWT for another app id', async () => {
    const fake = await start();
    const failure = await failureOf(
      appAuth(fake, fake.privateKeyPem, '999')({ type: 'installation', refresh: true }),
    );
    expect(failure).toMatchObject({ status: 401, message: GITHUB_MESSAGES.jwtUndecodable });
  });

  it('rejects an expired JWT with GitHub’s message', async () => {
    const fake = await start();
    const expired = await signAppJwt(fake, {
      iss: fake.appId,
      iat: nowS() - 700,
      exp: nowS() - 100,
    });
    expect(await failureOf(postAccessToken(fake, expired))).toMatchObject({
      status: 401,
      message:
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
    });
    // Same claims shifted into the present are fine: the check is the time, not the key.
    const fresh = await signAppJwt(fake, { iss: fake.appId, iat: nowS() - 30, exp: nowS() + 570 });
    expect((await postAccessToken(fake, fresh)).status).toBe(201);
  });

  it('rejects a JWT living longer than 10 minutes, issued in the future, or without iss', async () => {
    const fake = await start();
    const long = await signAppJwt(fake, { iss: fake.appId, iat: nowS() - 30, exp: nowS() + 900 });
    expect(await failureOf(postAccessToken(fake, long))).toMatchObject({
      status: 401,
      message: GITHUB_MESSAGES.jwtTooLong,
    });
    const future = await signAppJwt(fake, {
      iss: fake.appId,
      iat: nowS() + 120,
      exp: nowS() + 600,
    });
    expect(await failureOf(postAccessToken(fake, future))).toMatchObject({
      status: 401,
      message: GITHUB_MESSAGES.jwtIatFuture,
    });
    const anonymous = await signAppJwt(fake, { iat: nowS() - 30, exp: nowS() + 500 });
    expect((await failureOf(postAccessToken(fake, anonymous))).status).toBe(401);
    // An installation token is not an app JWT.
    const token = await mint(fake);
    expect(await failureOf(postAccessToken(fake, token))).toMatchObject({
      status: 401,
      message: GITHUB_MESSAGES.jwtUndecodable,
    });
  });

  it('rejects an HS256 token and an unsigned one', async () => {
    const fake = await start();
    const hs = await new SignJWT({ iss: fake.appId })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(nowS() - 30)
      .setExpirationTime(nowS() + 500)
      .sign(new TextEncoder().encode(fake.privateKeyPem));
    expect((await failureOf(postAccessToken(fake, hs))).status).toBe(401);
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const none = `${b64({ alg: 'none' })}.${b64({ iss: fake.appId, iat: nowS() - 30, exp: nowS() + 500 })}.`;
    expect((await failureOf(postAccessToken(fake, none))).status).toBe(401);
  });
});

describe('token request validation', () => {
  it('answers 422 for a repository outside the installation, minting nothing', async () => {
    const fake = await start();
    const failure = await failureOf(mint(fake, ['api', 'secret']));
    expect(failure).toMatchObject({
      status: 422,
      message:
        'There is at least one repository that does not exist or is not accessible to the parent installation.',
    });
    expect(fake.liveTokens()).toEqual([]);
  });

  it('answers 422 for a permission the installation lacks or a higher level', async () => {
    const fake = await start({ installationPermissions: { contents: 'read', metadata: 'read' } });
    const message = 'The permissions requested are not granted to this installation.';
    expect(await failureOf(mint(fake, ['api'], { contents: 'write' }))).toMatchObject({
      status: 422,
      message,
    });
    expect(await failureOf(mint(fake, ['api'], { administration: 'read' }))).toMatchObject({
      status: 422,
      message,
    });
    expect(fake.liveTokens()).toEqual([]);
    await mint(fake, ['api'], { contents: 'read' });
    expect(fake.liveTokens()).toHaveLength(1);
  });

  it('answers 422 for more than 500 repositories', async () => {
    const names = Array.from({ length: 501 }, (_, i) => `r${i}`);
    const fake = await start({ repositories: names });
    expect((await failureOf(mint(fake, names))).status).toBe(422);
    expect((await mint(fake, names.slice(0, 500))).length).toBe(40);
  });
});

describe('test controls and wire details', () => {
  it('failNext answers the next matching request once, with its headers', async () => {
    const fake = await start();
    fake.failNext(
      { method: 'post', path: '/app/installations/' },
      { status: 503, body: { message: 'down for maintenance' }, headers: { 'retry-after': '7' } },
    );
    const injected = await failureOf(mint(fake));
    expect(injected).toMatchObject({ status: 503, data: { message: 'down for maintenance' } });
    expect(injected.headers['retry-after']).toBe('7');
    expect(fake.liveTokens()).toEqual([]);
    expect(await mint(fake)).toMatch(/^ghs_/);

    // Without a body, an error status gets a GitHub-shaped error.
    fake.failNext({ method: 'POST', path: '/app/' }, { status: 429 });
    expect((await failureOf(mint(fake))).data).toEqual({
      message: 'Too Many Requests',
      documentation_url: 'https://docs.github.com/rest',
      status: '429',
    });

    // Non-matching requests leave the injection queued.
    fake.failNext({ method: 'GET', path: '/repos/acme/web' }, { status: 500 });
    const gh = as(fake, await mint(fake, ['api', 'web']));
    expect((await gh('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'api' })).status).toBe(
      200,
    );
    expect(
      (await failureOf(gh('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'web' }))).status,
    ).toBe(500);
    expect((await gh('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'web' })).status).toBe(
      200,
    );
  });

  it('stamps request ids and a decreasing rate limit on every response, 404 for unknown routes', async () => {
    const fake = await start();
    const gh = as(fake, await mint(fake));
    const a = await gh('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'api' });
    const miss = await failureOf(gh('GET /user'));
    expect(miss).toMatchObject({ status: 404, message: 'Not Found' });
    const b = await gh('GET /installation/repositories');

    for (const headers of [a.headers, miss.headers, b.headers]) {
      expect(headers['x-github-request-id']).toMatch(/^[0-9A-F:]+$/);
      expect(headers['x-ratelimit-limit']).toBe('5000');
    }
    const remaining = [a.headers, miss.headers, b.headers].map((h) =>
      Number(h['x-ratelimit-remaining']),
    );
    expect(remaining[0]).toBeLessThan(5000);
    expect(remaining[1]).toBe(remaining[0]! - 1);
    expect(remaining[2]).toBe(remaining[1]! - 1);
    expect(a.headers['x-github-request-id']).not.toBe(b.headers['x-github-request-id']);
  });

  it('setLatency delays every answer until switched off', async () => {
    const fake = await start();
    const token = await mint(fake);
    const gh = as(fake, token);
    fake.setLatency(300);
    const started = Date.now();
    await Promise.all([
      gh('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'api' }),
      gh('GET /installation/repositories'),
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    // Switched off, an answer comes long before a delay still in force would let it.
    fake.setLatency(5_000);
    fake.setLatency(0);
    expect(await settlesBefore(gh('GET /installation/repositories'), 2_500)).toBe(true);
  });

  it('close() ends pending requests and frees the port', async () => {
    const fake = await start();
    const gh = as(fake, await mint(fake));
    fake.setLatency(10_000);
    const hanging = gh('GET /installation/repositories').then(
      () => 'answered',
      () => 'failed',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = await Promise.race([
      fake.close().then(() => 'closed'),
      new Promise((resolve) => setTimeout(resolve, 2_000, 'still open')),
    ]);
    expect(closed).toBe('closed');
    expect(await hanging).toBe('failed');
    const after = await fetch(`${fake.url}/`).then(
      () => 'answered',
      () => 'refused',
    );
    expect(after).toBe('refused');
  });
});
