import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JWTPayload } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuthError } from '../../../src/identity/types.js';
import { IdentityVerifier } from '../../../src/identity/verifier.js';
import {
  issuerConfig,
  jwks,
  makeKey,
  rejectionOf,
  signToken,
  TestClock,
  type TestKey,
  TestServer,
  writeJwksFile,
} from '../../helpers/identity-support.js';

const ISS = 'https://oidc.cluster.test';
const SUBJECT = 'system:serviceaccount:mcp:github-mcp';
let key: TestKey;
let jwksPath: string;
let tokenFile: string;
let clock: TestClock;
let api: TestServer;

interface Seen {
  authorization: string | undefined;
  body: { apiVersion?: string; kind?: string; spec?: { token?: string; audiences?: string[] } };
}
let seen: Seen[];
let answer: (body: Seen['body']) => unknown;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    req.on('end', () => resolve(text));
  });
}

beforeAll(async () => {
  key = await makeKey('k1');
  jwksPath = writeJwksFile(jwks(key));
  tokenFile = join(mkdtempSync(join(tmpdir(), 'jit-tr-')), 'token');
  writeFileSync(tokenFile, 'broker-sa-token\n');
});

beforeEach(async () => {
  clock = new TestClock();
  seen = [];
  answer = (body) => ({
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenReview',
    status: {
      authenticated: true,
      user: { username: SUBJECT, uid: 'u-1', groups: ['system:serviceaccounts'] },
      audiences: body.spec?.audiences,
    },
  });
  api = await new TestServer().start();
  api.routes.set('/apis/authentication.k8s.io/v1/tokenreviews', (req, res) => {
    void readBody(req).then((text) => {
      const body = JSON.parse(text) as Seen['body'];
      seen.push({ authorization: req.headers.authorization, body });
      res
        .writeHead(req.method === 'POST' ? 201 : 405, { 'content-type': 'application/json' })
        .end(JSON.stringify(answer(body)));
    });
  });
});

afterEach(async () => {
  await api.stop();
});

function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  return {
    iss: ISS,
    aud: 'jit-broker',
    sub: SUBJECT,
    iat: clock.seconds,
    exp: clock.seconds + 3600,
    'kubernetes.io': {
      namespace: 'mcp',
      serviceaccount: { name: 'github-mcp', uid: 'sa-1' },
      pod: { name: 'github-mcp-0', uid: 'pod-1' },
    },
    ...overrides,
  } as JWTPayload;
}

function verifier(review: Record<string, unknown> = {}): IdentityVerifier {
  return new IdentityVerifier(
    [
      issuerConfig({
        name: 'k8s',
        profile: 'kubernetes',
        issuer: ISS,
        jwks_file: jwksPath,
        allow_insecure_loopback: true,
        token_review: {
          api_server: api.origin,
          bearer_token_file: tokenFile,
          cache: '10s',
          ...review,
        },
      }),
    ],
    [],
    { now: clock.now },
  );
}

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  const err = await rejectionOf(promise);
  expect(err).toBeInstanceOf(AuthError);
  return (err as unknown as AuthError).reason;
}

describe('Kubernetes TokenReview confirmation', () => {
  it('asks the API server with the broker token, the workload token and our audience', async () => {
    const token = await signToken(key, claims());
    await expect(verifier().verify(token)).resolves.toMatchObject({ subject: SUBJECT });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.authorization).toBe('Bearer broker-sa-token');
    expect(seen[0]?.body).toEqual({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, audiences: ['jit-broker'] },
    });
  });

  it('refuses a token the API server no longer vouches for (deleted pod)', async () => {
    answer = () => ({ status: { authenticated: false, error: 'pod "github-mcp-0" not found' } });
    const err = (await rejectionOf(
      verifier().verify(await signToken(key, claims())),
    )) as unknown as AuthError;
    expect(err.reason).toBe('token_review_refused');
    expect(err.subject).toBe(SUBJECT);
  });

  it('refuses when the API server names another user or another audience', async () => {
    answer = () => ({
      status: { authenticated: true, user: { username: 'system:serviceaccount:x:y' } },
    });
    expect(await reasonOf(verifier().verify(await signToken(key, claims())))).toBe(
      'token_review_refused',
    );
    answer = () => ({
      status: { authenticated: true, user: { username: SUBJECT }, audiences: ['api'] },
    });
    expect(await reasonOf(verifier().verify(await signToken(key, claims({ jti: '2' }))))).toBe(
      'token_review_refused',
    );
  });

  it('fails closed when the API server cannot be asked', async () => {
    const token = await signToken(key, claims());
    expect(await reasonOf(verifier({ api_server: 'http://127.0.0.1:9' }).verify(token))).toBe(
      'token_review_failed',
    );
    api.routes.set('/apis/authentication.k8s.io/v1/tokenreviews', (_req, res) => {
      res.writeHead(500).end();
    });
    expect(await reasonOf(verifier().verify(token))).toBe('token_review_failed');
  });

  it('reuses an answer briefly, even for a cached principal, then asks again', async () => {
    const v = verifier();
    const token = await signToken(key, claims());
    await v.verify(token);
    clock.advance(9_000);
    await v.verify(token);
    expect(seen).toHaveLength(1);
    // The pod is deleted; the principal is still cached, but the review is not.
    answer = () => ({ status: { authenticated: false } });
    clock.advance(1_000);
    expect(await reasonOf(v.verify(token))).toBe('token_review_refused');
    expect(seen).toHaveLength(2);
  });

  it('is only for kubernetes issuers, and needs a readable token file', () => {
    expect(
      () =>
        new IdentityVerifier(
          [
            {
              ...issuerConfig({ jwks_file: jwksPath }),
              token_review: {
                api_server: 'https://k.test',
                bearer_token_file: tokenFile,
                cache: 1000,
              },
            },
          ],
          [],
        ),
    ).toThrow(TypeError);
    expect(() => verifier({ bearer_token_file: '/nonexistent/token' })).toThrow(TypeError);
    expect(() => verifier({ api_server: 'http://10.0.0.1' })).toThrow(TypeError);
  });
});
