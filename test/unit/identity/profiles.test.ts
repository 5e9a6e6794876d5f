import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JWTPayload } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { issuerSchema } from '../../../src/config/schema.js';
import { AuthError } from '../../../src/identity/types.js';
import { IdentityVerifier } from '../../../src/identity/verifier.js';
import {
  jwks,
  makeKey,
  rejectionOf,
  signRaw,
  signToken,
  TestClock,
  type TestKey,
  TestServer,
} from '../../helpers/identity-support.js';

const K8S_ISS = 'https://oidc.cluster.test';
const GH_ISS = 'https://token.actions.githubusercontent.com';
const TD = 'prod.example.org';

let clock: TestClock;
let key: TestKey;
let spiffeKey: TestKey;
let x509Key: TestKey;
let dir: string;
let jwksPath: string;
let bundlePath: string;

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

function spiffeBundle(keys: TestKey[], extra: Record<string, unknown> = {}) {
  return {
    keys: [
      ...keys.map((k) => ({ ...k.jwk, use: 'jwt-svid' })),
      // Published for X.509-SVIDs: never a key for a JWT-SVID.
      { ...x509Key.jwk, use: 'x509-svid' },
    ],
    spiffe_sequence: 1,
    ...extra,
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jit-profiles-'));
  key = await makeKey('k1');
  spiffeKey = await makeKey('svid-1');
  x509Key = await makeKey('x509-1');
  jwksPath = file('jwks.json', jwks(key));
  bundlePath = file('bundle.json', spiffeBundle([spiffeKey]));
});

beforeEach(() => {
  clock = new TestClock();
});

function issuers(overrides: Record<string, Record<string, unknown>> = {}) {
  return [
    issuerSchema.parse({
      name: 'k8s',
      profile: 'kubernetes',
      issuer: K8S_ISS,
      audience: 'jit-broker',
      jwks_file: jwksPath,
      ...overrides.k8s,
    }),
    issuerSchema.parse({
      name: 'gha',
      profile: 'github-actions',
      issuer: GH_ISS,
      audience: 'jit-broker',
      jwks_file: jwksPath,
      ...overrides.gha,
    }),
    issuerSchema.parse({
      name: 'spire',
      profile: 'spiffe',
      issuer: `spiffe://${TD}`,
      audience: 'jit-broker',
      bundle_file: bundlePath,
      ...overrides.spire,
    }),
    issuerSchema.parse({
      name: 'idp',
      issuer: 'https://idp.example.test',
      audience: 'jit-broker',
      jwks_file: jwksPath,
    }),
  ];
}

const WORKLOADS = [
  {
    id: 'k8s-mcp',
    issuer: 'k8s',
    subject: 'system:serviceaccount:mcp:*',
    claims: { 'kubernetes.io/namespace': 'mcp', 'kubernetes.io/pod/name': 'github-mcp-0' },
    tier: 'write' as const,
    max_active_leases: 10,
  },
  {
    id: 'ci',
    issuer: 'gha',
    subject: '**',
    claims: { repository_id: '123456', repository_owner_id: '42' },
    tier: 'write' as const,
    max_active_leases: 10,
  },
];

function verifier(overrides: Record<string, Record<string, unknown>> = {}, options = {}) {
  return new IdentityVerifier(issuers(overrides), WORKLOADS, { now: clock.now, ...options });
}

async function reasonFor(token: string, v = verifier()): Promise<string> {
  const err = await rejectionOf(v.verify(token));
  expect(err).toBeInstanceOf(AuthError);
  return (err as unknown as AuthError).reason;
}

function base(iss: string, overrides: Record<string, unknown> = {}): JWTPayload {
  return {
    iss,
    aud: 'jit-broker',
    iat: clock.seconds - 5,
    nbf: clock.seconds - 5,
    exp: clock.seconds + 600,
    ...overrides,
  } as JWTPayload;
}

function k8sClaims(overrides: Record<string, unknown> = {}): JWTPayload {
  return base(K8S_ISS, {
    sub: 'system:serviceaccount:mcp:github-mcp',
    'kubernetes.io': {
      namespace: 'mcp',
      serviceaccount: { name: 'github-mcp', uid: 'c0a8-sa' },
      pod: { name: 'github-mcp-0', uid: 'c0a8-pod' },
      node: { name: 'node-1', uid: 'c0a8-node' },
    },
    ...overrides,
  });
}

function ghClaims(overrides: Record<string, unknown> = {}): JWTPayload {
  return base(GH_ISS, {
    sub: 'repo:acme/app:environment:prod',
    jti: 'f1e2d3c4',
    repository: 'acme/app',
    repository_id: '123456',
    repository_owner: 'acme',
    repository_owner_id: '42',
    run_id: '9876543210',
    ref: 'refs/heads/main',
    environment: 'prod',
    event_name: 'push',
    workflow_ref: 'acme/app/.github/workflows/deploy.yml@refs/heads/main',
    job_workflow_ref: 'acme/app/.github/workflows/deploy.yml@refs/heads/main',
    ...overrides,
  });
}

function svidClaims(overrides: Record<string, unknown> = {}): JWTPayload {
  const claims: Record<string, unknown> = {
    sub: `spiffe://${TD}/ns/mcp/sa/github-mcp`,
    aud: ['jit-broker'],
    exp: clock.seconds + 300,
    ...overrides,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  return claims as JWTPayload;
}

describe('kubernetes profile', () => {
  it('verifies a projected service-account token and maps it on kubernetes.io claims', async () => {
    const principal = await verifier().authenticateWorkload(await signToken(key, k8sClaims()));
    expect(principal.workload.id).toBe('k8s-mcp');
    expect(principal.identity.subject).toBe('system:serviceaccount:mcp:github-mcp');
  });

  it('does not map a pod the workload does not name', async () => {
    const other = k8sClaims();
    (other['kubernetes.io'] as { pod: { name: string } }).pod.name = 'intruder-0';
    const err = await rejectionOf(verifier().authenticateWorkload(await signToken(key, other)));
    expect((err as unknown as AuthError).reason).toBe('no_workload');
  });

  it('refuses a subject that differs from the namespace and service account claims', async () => {
    const token = await signToken(
      key,
      k8sClaims({ sub: 'system:serviceaccount:kube-system:admin' }),
    );
    expect(await reasonFor(token)).toBe('claim_invalid');
  });

  it('refuses a token without the kubernetes.io claim, or with a malformed one', async () => {
    expect(await reasonFor(await signToken(key, k8sClaims({ 'kubernetes.io': undefined })))).toBe(
      'claim_invalid',
    );
    const noUid = k8sClaims({
      'kubernetes.io': { namespace: 'mcp', serviceaccount: { name: 'github-mcp' } },
    });
    expect(await reasonFor(await signToken(key, noUid))).toBe('claim_invalid');
    const badPod = k8sClaims({
      'kubernetes.io': {
        namespace: 'mcp',
        serviceaccount: { name: 'github-mcp', uid: 'u' },
        pod: 'github-mcp-0',
      },
    });
    expect(await reasonFor(await signToken(key, badPod))).toBe('claim_invalid');
  });

  it('refuses a legacy secret-based token (flat claims, no exp)', async () => {
    const legacy = {
      iss: K8S_ISS,
      aud: 'jit-broker',
      sub: 'system:serviceaccount:mcp:github-mcp',
      'kubernetes.io/serviceaccount/namespace': 'mcp',
      'kubernetes.io/serviceaccount/service-account.name': 'github-mcp',
    };
    expect(await reasonFor(await signToken(key, legacy))).toBe('claim_invalid');
    expect(
      await reasonFor(
        await signToken(key, { ...legacy, iat: clock.seconds, exp: clock.seconds + 60 }),
      ),
    ).toBe('claim_invalid');
  });

  it('refuses a GitHub Actions token signed with the same key under the cluster iss', async () => {
    expect(await reasonFor(await signToken(key, ghClaims({ iss: K8S_ISS })))).toBe('claim_invalid');
  });
});

describe('github-actions profile', () => {
  it('verifies an Actions token and maps it on the numeric ids', async () => {
    const principal = await verifier().authenticateWorkload(await signToken(key, ghClaims()));
    expect(principal.workload.id).toBe('ci');
  });

  it('does not map a renamed-lookalike repository with another id', async () => {
    const token = await signToken(key, ghClaims({ repository_id: '999999' }));
    const err = await rejectionOf(verifier().authenticateWorkload(token));
    expect((err as unknown as AuthError).reason).toBe('no_workload');
  });

  it.each([
    ['repository_id', undefined],
    ['repository_owner_id', undefined],
    ['job_workflow_ref', undefined],
    ['jti', undefined],
    ['repository_id', 123456],
    ['repository_id', 'abc'],
    ['run_id', '12a'],
    ['repository', 'acme'],
    ['repository', 'other/app'],
    ['job_workflow_ref', 'acme/app/.github/workflows/deploy.yml'],
  ])('refuses %s = %j', async (claim, value) => {
    const token = await signRaw(key, { alg: 'ES256', kid: 'k1' }, ghClaims({ [claim]: value }));
    expect(await reasonFor(token)).toBe('claim_invalid');
  });

  it('refuses a Kubernetes token signed with the same key under the Actions iss', async () => {
    expect(await reasonFor(await signToken(key, k8sClaims({ iss: GH_ISS })))).toBe('claim_invalid');
  });

  it('accepts GitHub Enterprise issuers configured as github-actions', async () => {
    const ghes = 'https://ghe.example.com/_services/token';
    const v = new IdentityVerifier(
      [
        issuerSchema.parse({
          name: 'ghes',
          profile: 'github-actions',
          issuer: ghes,
          audience: 'jit-broker',
          jwks_file: jwksPath,
        }),
      ],
      [],
      { now: clock.now },
    );
    await expect(v.verify(await signToken(key, ghClaims({ iss: ghes })))).resolves.toMatchObject({
      issuer: 'ghes',
    });
  });
});

describe('spiffe profile', () => {
  it('verifies a JWT-SVID chosen by the trust domain of sub, with or without iss', async () => {
    const identity = await verifier().verify(await signToken(spiffeKey, svidClaims()));
    expect(identity).toMatchObject({
      issuer: 'spire',
      subject: `spiffe://${TD}/ns/mcp/sa/github-mcp`,
    });
    const withIss = await signToken(spiffeKey, svidClaims({ iss: 'https://oidc.spire.test' }));
    await expect(verifier().verify(withIss)).resolves.toMatchObject({ issuer: 'spire' });
    const typed = await signToken(spiffeKey, svidClaims(), { typ: 'JOSE' });
    await expect(verifier().verify(typed)).resolves.toBeDefined();
  });

  it('uses only jwt-svid keys of the bundle', async () => {
    const byX509Key = await signToken(x509Key, svidClaims());
    expect(await reasonFor(byX509Key)).toBe('unknown_key');
    const sigOnly = file('sig-bundle.json', { keys: [{ ...spiffeKey.jwk, use: 'sig' }] });
    const v = verifier({ spire: { bundle_file: sigOnly } });
    expect(await reasonFor(await signToken(spiffeKey, svidClaims()), v)).toBe('unknown_key');
  });

  it.each([[{ x5t: 'abc' }], [{ foo: 'bar' }], [{ typ: 'at+jwt' }]])(
    'refuses the header %j',
    async (header) => {
      const token = await signToken(spiffeKey, svidClaims(), header);
      expect(await reasonFor(token)).toBe('forbidden_header');
    },
  );

  it('refuses several audiences, even when ours is among them', async () => {
    const token = await signToken(spiffeKey, svidClaims({ aud: ['jit-broker', 'reports'] }));
    expect(await reasonFor(token)).toBe('audience_mismatch');
    expect(await reasonFor(await signToken(spiffeKey, svidClaims({ aud: undefined })))).toBe(
      'audience_mismatch',
    );
  });

  it('refuses an SVID of a trust domain with no bundle, and one whose iss names our bundle but not its sub', async () => {
    const foreign = await signToken(spiffeKey, svidClaims({ sub: 'spiffe://other.org/x' }));
    expect(await reasonFor(foreign)).toBe('unknown_issuer');
    const crossed = await signToken(
      spiffeKey,
      svidClaims({ iss: `spiffe://${TD}`, sub: 'spiffe://other.org/x' }),
    );
    expect(await reasonFor(crossed)).toBe('claim_invalid');
  });

  it.each([
    `spiffe://${TD}`,
    `spiffe://${TD}/`,
    `spiffe://${TD}/a//b`,
    `spiffe://${TD}/a/../b`,
    `spiffe://${TD}/a?x=1`,
  ])('refuses the subject %s', async (sub) => {
    const token = await signToken(spiffeKey, svidClaims({ iss: `spiffe://${TD}`, sub }));
    expect(await reasonFor(token)).toBe('claim_invalid');
  });

  it('refuses an SVID offered under an OIDC issuer', async () => {
    const token = await signToken(
      spiffeKey,
      svidClaims({ iss: 'https://idp.example.test', iat: clock.seconds }),
    );
    expect(await reasonFor(token)).toBe('unknown_key');
  });

  it('refuses an OIDC token presented with a SPIFFE subject under no iss', async () => {
    const token = await signToken(key, svidClaims());
    expect(await reasonFor(token)).toBe('unknown_key');
  });

  it('refuses a spiffe issuer that is not spiffe://<trust domain>, and a bundle that is not JSON', () => {
    expect(() => verifier({ spire: { issuer: 'https://spire.test' } })).toThrow(TypeError);
    expect(() => verifier({ spire: { issuer: `spiffe://${TD}/path` } })).toThrow(TypeError);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{');
    expect(() => verifier({ spire: { bundle_file: broken } })).toThrow(TypeError);
  });

  it('takes keys only from a bundle in the config', () => {
    for (const bad of [
      { profile: 'spiffe', jwks_uri: 'https://x.test/jwks' },
      { profile: 'spiffe', bundle_file: 'a', bundle_url: 'https://x.test/b' },
      { profile: 'oidc', bundle_file: 'a', discovery: true },
      {
        profile: 'oidc',
        discovery: true,
        token_review: { api_server: 'https://k', bearer_token_file: 't' },
      },
    ]) {
      expect(
        issuerSchema.safeParse({ name: 'x', issuer: `spiffe://${TD}`, audience: 'a', ...bad })
          .success,
      ).toBe(false);
    }
  });
});

describe('spiffe bundle refresh', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await new TestServer().start();
  });
  afterEach(async () => {
    await server.stop();
  });

  function fromUrl(): IdentityVerifier {
    return verifier({
      spire: {
        bundle_file: undefined,
        bundle_url: `${server.origin}/bundle`,
        allow_insecure_loopback: true,
      },
    });
  }

  it('refetches a bundle URL on its refresh hint, and picks up a rotated key', async () => {
    const next = await makeKey('svid-2');
    let published = spiffeBundle([spiffeKey], { spiffe_refresh_hint: 120 });
    server.json('/bundle', () => published);
    const v = fromUrl();
    await v.verify(await signToken(spiffeKey, svidClaims()));
    published = spiffeBundle([spiffeKey, next], { spiffe_refresh_hint: 120 });
    clock.advance(60_000);
    await v.verify(await signToken(spiffeKey, svidClaims({ jti: 'a' })));
    expect(server.hitCount('/bundle')).toBe(1);
    clock.advance(61_000);
    await v.verify(await signToken(spiffeKey, svidClaims({ jti: 'b' })));
    expect(server.hitCount('/bundle')).toBe(2);
    await expect(
      v.verify(await signToken(next, svidClaims({ exp: clock.seconds + 300 }))),
    ).resolves.toBeDefined();
  });

  it('re-reads a bundle file when the hint says so', async () => {
    const path = file('rotating.json', spiffeBundle([spiffeKey], { spiffe_refresh_hint: 60 }));
    const next = await makeKey('svid-3');
    const v = verifier({ spire: { bundle_file: path } });
    writeFileSync(path, JSON.stringify(spiffeBundle([next], { spiffe_refresh_hint: 60 })));
    clock.advance(61_000);
    await expect(
      v.verify(await signToken(next, svidClaims({ exp: clock.seconds + 300 }))),
    ).resolves.toBeDefined();
    expect(
      await reasonFor(await signToken(spiffeKey, svidClaims({ exp: clock.seconds + 300 })), v),
    ).toBe('unknown_key');
  });
});
