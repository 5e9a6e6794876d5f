import type { JWTPayload } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IssuerConfig } from '../../../src/config/schema.js';
import { workloadSchema } from '../../../src/config/schema.js';
import { profileFor } from '../../../src/identity/profiles/index.js';
import { isRecord, nonEmptyString } from '../../../src/identity/profiles/profile.js';
import type { ReplayGuard } from '../../../src/identity/replay-guard.js';
import { parseSpiffeId, trustDomainOf } from '../../../src/identity/spiffe-id.js';
import { MAX_TOKEN_BYTES } from '../../../src/identity/token-shape.js';
import {
  issuersByIss,
  type TrustedIssuer,
  trustIssuer,
} from '../../../src/identity/trusted-issuer.js';
import { AuthError, type VerifiedIdentity } from '../../../src/identity/types.js';
import { IdentityVerifier } from '../../../src/identity/verifier.js';
import { verifyToken } from '../../../src/identity/verify-jwt.js';
import { WorkloadMapping } from '../../../src/identity/workloads.js';
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

/*
 * Rules of token verification that mutation testing found unpinned: each test here fails
 * when the rule it names is weakened in src/identity.
 */

const ISS = 'https://idp.example.test';
const K8S_ISS = 'https://oidc.cluster.test';
const GH_ISS = 'https://token.actions.githubusercontent.com';

let key: TestKey;
let jwksPath: string;
let clock: TestClock;

beforeAll(async () => {
  key = await makeKey('k1');
  jwksPath = writeJwksFile(jwks(key));
});

beforeEach(() => {
  clock = new TestClock();
});

function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  return {
    iss: ISS,
    aud: 'jit-broker',
    sub: 'agent',
    iat: clock.seconds - 5,
    exp: clock.seconds + 300,
    ...overrides,
  } as JWTPayload;
}

function verifier(
  overrides: Record<string, unknown> = {},
  options: ConstructorParameters<typeof IdentityVerifier>[2] = {},
): IdentityVerifier {
  return new IdentityVerifier([issuerConfig({ jwks_file: jwksPath, ...overrides })], [], {
    now: clock.now,
    ...options,
  });
}

async function reasonFor(promise: Promise<unknown>): Promise<string> {
  const err = await rejectionOf(promise);
  expect(err).toBeInstanceOf(AuthError);
  return (err as unknown as AuthError).reason;
}

const b64 = (value: string): string => Buffer.from(value).toString('base64url');

describe('token shape', () => {
  it('refuses whitespace in a signed token that jose would decode anyway', async () => {
    // jose strips whitespace while decoding, so without the charset check one signed token
    // would have many spellings, each with its own hash in the audit trail and the cache.
    const token = await signToken(key, claims());
    await expect(verifier().verify(token)).resolves.toBeDefined();
    expect(await reasonFor(verifier().verify(`${token} `))).toBe('malformed');
  });

  it('answers a header or payload that is not JSON with malformed, not an internal error', async () => {
    const header = b64(JSON.stringify({ alg: 'ES256', kid: 'k1' }));
    const payload = b64(JSON.stringify(claims()));
    const signature = b64('x'.repeat(64));
    expect(await reasonFor(verifier().verify(`${b64('not json')}.${payload}.${signature}`))).toBe(
      'malformed',
    );
    expect(await reasonFor(verifier().verify(`${header}.${b64('not json')}.${signature}`))).toBe(
      'malformed',
    );
  });

  it('accepts a token of exactly the size cap', async () => {
    let token = '';
    // Base64url lengths skip some values, so the header's `typ` takes up the slack.
    for (let typ = 1; typ <= 4 && token.length !== MAX_TOKEN_BYTES; typ++) {
      const header = { typ: 'J'.repeat(typ) };
      const probe = await signToken(key, claims({ pad: '' }), header);
      const room = Math.floor(((MAX_TOKEN_BYTES - probe.length) * 3) / 4);
      for (let pad = room - 4; pad <= room + 4; pad++) {
        const candidate = await signToken(key, claims({ pad: 'x'.repeat(pad) }), header);
        if (candidate.length === MAX_TOKEN_BYTES) {
          token = candidate;
          break;
        }
      }
    }
    expect(token).toHaveLength(MAX_TOKEN_BYTES);
    await expect(verifier().verify(token)).resolves.toBeDefined();
  });
});

describe('shape checks come before any key is fetched', () => {
  let server: TestServer;

  beforeEach(async () => {
    server = await new TestServer().start();
    server.json('/jwks', () => jwks(key));
  });

  afterEach(async () => {
    await server.stop();
  });

  it('refuses a token with an empty signature without asking the issuer for keys', async () => {
    const v = new IdentityVerifier(
      [
        issuerConfig({
          issuer: server.origin,
          jwks_uri: `${server.origin}/jwks`,
          allow_insecure_loopback: true,
        }),
      ],
      [],
      { now: clock.now },
    );
    const [header, payload] = (await signToken(key, claims({ iss: server.origin }))).split('.');
    expect(await reasonFor(v.verify(`${header}.${payload}.`))).toBe('bad_signature');
    expect(server.totalHits()).toBe(0);
  });

  it('names the subject when a cached principal is refused because its keys went stale', async () => {
    let status = 200;
    server.routes.set('/jwks', (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(jwks(key)));
    });
    const v = new IdentityVerifier(
      [
        issuerConfig({
          issuer: server.origin,
          jwks_uri: `${server.origin}/jwks`,
          allow_insecure_loopback: true,
          jwks_max_age: '15m',
        }),
      ],
      [],
      { now: clock.now },
    );
    const token = await signToken(key, claims({ iss: server.origin, exp: clock.seconds + 3600 }));
    await v.verify(token);
    status = 503;
    clock.advance(900_001);
    const err = (await rejectionOf(v.verify(token))) as unknown as AuthError;
    expect(err.reason).toBe('jwks_unavailable');
    expect(err.subject).toBe('agent');
  });

  it('passes the configured key timing to remote key sources', async () => {
    const v = new IdentityVerifier(
      [
        issuerConfig({
          issuer: server.origin,
          jwks_uri: `${server.origin}/jwks`,
          allow_insecure_loopback: true,
        }),
      ],
      [],
      { now: clock.now, timing: { cooldownMs: 0, refreshMs: 1_000, maxAgeMs: 60_000 } },
    );
    await v.verify(await signToken(key, claims({ iss: server.origin })));
    clock.advance(1_001);
    await v.verify(await signToken(key, claims({ iss: server.origin, sub: 'other' })));
    // The default timing (five minutes) would not have refreshed yet.
    expect(server.hitCount('/jwks')).toBe(2);
  });
});

describe('issuer settings the schema should have refused', () => {
  const keyOptions = { fetch: globalThis.fetch, now: () => 0 };
  const settings = (overrides: Partial<IssuerConfig>): IssuerConfig => ({
    ...issuerConfig({ jwks_file: jwksPath }),
    ...overrides,
  });
  const trust = (overrides: Partial<IssuerConfig>) =>
    trustIssuer(settings(overrides), profileFor('oidc'), keyOptions);

  it('refuses HMAC, none and an empty algorithm list at start', () => {
    // The schema's enum is the first line; this is the one verification itself relies on.
    const forced = (algorithms: string[]) => trust({ algorithms } as unknown as IssuerConfig);
    expect(() => forced(['HS256'])).toThrow(/algorithms not allowed: HS256/);
    expect(() => forced(['ES256', 'none'])).toThrow(/algorithms not allowed: none/);
    expect(() => forced([])).toThrow(TypeError);
    expect(trust({ algorithms: ['ES256'] }).algorithms).toEqual(['ES256']);
  });

  it('refuses a clock tolerance outside 0..60s, and accepts both ends', () => {
    expect(() => trust({ clock_tolerance: -1 })).toThrow(/clock_tolerance/);
    expect(() => trust({ clock_tolerance: 60_001 })).toThrow(/clock_tolerance/);
    expect(trust({ clock_tolerance: 0 }).clockToleranceMs).toBe(0);
    expect(trust({ clock_tolerance: 60_000 }).clockToleranceMs).toBe(60_000);
  });
});

describe('verifyToken', () => {
  it('lets a failure that is not a refusal through unchanged (a 500, not a 401)', async () => {
    const trusted = trustIssuer(issuerConfig({ jwks_file: jwksPath }), profileFor('oidc'), {
      fetch: globalThis.fetch,
      now: clock.now,
    });
    const outage = new Error('key store unreachable');
    const broken: TrustedIssuer = {
      ...trusted,
      keys: {
        candidates: () => Promise.reject(outage),
        current: () => Promise.reject(outage),
      },
    };
    const token = await signToken(key, claims());
    await expect(verifyToken(token, issuersByIss([broken]), clock.now)).rejects.toBe(outage);
  });

  it('answers a token with a non-string sub and no known iss as an unknown issuer', async () => {
    const token = await signToken(key, claims({ iss: 'https://nobody.test', sub: 42 }));
    expect(await reasonFor(verifier().verify(token))).toBe('unknown_issuer');
    const noSub = await signToken(key, claims({ iss: undefined, sub: undefined }));
    expect(await reasonFor(verifier().verify(noSub))).toBe('unknown_issuer');
  });

  it('picks only a spiffe issuer by the trust domain of sub, not an OIDC one named like it', async () => {
    const v = verifier({ issuer: 'spiffe://prod.example.org' });
    const token = await signToken(
      key,
      claims({ iss: undefined, sub: 'spiffe://prod.example.org/w' }),
    );
    expect(await reasonFor(v.verify(token))).toBe('unknown_issuer');
  });
});

describe('IdentityVerifier', () => {
  it('uses the real clock when none is given', async () => {
    const now = Math.floor(Date.now() / 1000);
    const v = new IdentityVerifier([issuerConfig({ jwks_file: jwksPath })], []);
    const token = await signToken(key, claims({ iat: now - 5, exp: now + 300 }));
    await expect(v.verify(token)).resolves.toMatchObject({ subject: 'agent' });
  });

  it('remembers a one-time jti until exp plus the clock tolerance', async () => {
    const claimed: number[] = [];
    const guard: ReplayGuard = {
      claimOnce: async (_iss, _jti, until) => {
        claimed.push(until);
        return true;
      },
    };
    const config = issuerConfig({ jwks_file: jwksPath, one_time_jti: true });
    const v = new IdentityVerifier([config], [], { now: clock.now, replayGuard: guard });
    const exp = clock.seconds + 300;
    await v.verify(await signToken(key, claims({ jti: 'j-1', exp })));
    // A token is still accepted for `clock_tolerance` after exp, so its jti must outlive that.
    expect(config.clock_tolerance).toBeGreaterThan(0);
    expect(claimed).toEqual([exp * 1000 + config.clock_tolerance]);
  });

  it('lets a replay guard outage through as an error, not as a refused token', async () => {
    const outage = new Error('redis down');
    const guard: ReplayGuard = { claimOnce: () => Promise.reject(outage) };
    const v = verifier({ one_time_jti: true }, { replayGuard: guard });
    await expect(v.verify(await signToken(key, claims({ jti: 'j-1' })))).rejects.toBe(outage);
  });

  it('refuses an empty jti on a one-time issuer and accepts one of 256 characters', async () => {
    const guard: ReplayGuard = { claimOnce: async () => true };
    const v = verifier({ one_time_jti: true }, { replayGuard: guard });
    expect(await reasonFor(v.verify(await signToken(key, claims({ jti: '' }))))).toBe(
      'claim_invalid',
    );
    expect(await reasonFor(v.verify(await signToken(key, claims({ jti: 7 }))))).toBe(
      'claim_invalid',
    );
    await expect(
      v.verify(await signToken(key, claims({ jti: 'j'.repeat(256) }))),
    ).resolves.toBeDefined();
  });
});

describe('kubernetes profile', () => {
  function k8sVerifier(): IdentityVerifier {
    return verifier({ name: 'k8s', profile: 'kubernetes', issuer: K8S_ISS });
  }

  function k8sClaims(k8s: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
    return claims({
      iss: K8S_ISS,
      sub: 'system:serviceaccount:mcp:github-mcp',
      'kubernetes.io': {
        namespace: 'mcp',
        serviceaccount: { name: 'github-mcp', uid: 'sa-uid' },
        ...k8s,
      },
      ...overrides,
    });
  }

  it('accepts a projected token with several audiences', async () => {
    // The API server's own audience usually rides along with ours.
    const token = await signToken(
      key,
      k8sClaims({}, { aud: ['https://kubernetes', 'jit-broker'] }),
    );
    await expect(k8sVerifier().verify(token)).resolves.toMatchObject({ issuer: 'k8s' });
  });

  it('requires iat', async () => {
    const token = await signToken(key, k8sClaims({}, { iat: undefined }));
    expect(await reasonFor(k8sVerifier().verify(token))).toBe('claim_invalid');
  });

  it('requires a namespace, even when the subject spells the missing one', async () => {
    const token = await signToken(
      key,
      k8sClaims({ namespace: undefined }, { sub: 'system:serviceaccount:undefined:github-mcp' }),
    );
    expect(await reasonFor(k8sVerifier().verify(token))).toBe('claim_invalid');
  });

  it('requires the service account name and uid, even when the subject spells a missing name', async () => {
    const token = await signToken(key, k8sClaims({ serviceaccount: { name: 'github-mcp' } }));
    expect(await reasonFor(k8sVerifier().verify(token))).toBe('claim_invalid');
    const nameless = await signToken(
      key,
      k8sClaims(
        { serviceaccount: { uid: 'sa-uid' } },
        { sub: 'system:serviceaccount:mcp:undefined' },
      ),
    );
    expect(await reasonFor(k8sVerifier().verify(nameless))).toBe('claim_invalid');
  });

  it('refuses a null kubernetes.io claim as a bad claim, not an internal error', async () => {
    const token = await signToken(key, claims({ iss: K8S_ISS, 'kubernetes.io': null }));
    expect(await reasonFor(k8sVerifier().verify(token))).toBe('claim_invalid');
  });

  it('requires a name and a uid on a bound pod, node or secret', async () => {
    for (const bound of [{ name: 'p' }, { uid: 'u' }, 'github-mcp-0', ['p', 'u']]) {
      const token = await signToken(key, k8sClaims({ pod: bound }));
      expect(await reasonFor(k8sVerifier().verify(token))).toBe('claim_invalid');
    }
    const bound = await signToken(key, k8sClaims({ secret: { name: 's', uid: 'u' } }));
    await expect(k8sVerifier().verify(bound)).resolves.toBeDefined();
  });
});

describe('github-actions profile', () => {
  function ghVerifier(): IdentityVerifier {
    return verifier({ name: 'gha', profile: 'github-actions', issuer: GH_ISS });
  }

  function ghClaims(overrides: Record<string, unknown> = {}): JWTPayload {
    return claims({
      iss: GH_ISS,
      sub: 'repo:acme/app:ref:refs/heads/main',
      jti: 'f1e2d3c4',
      repository: 'acme/app',
      repository_id: '123456',
      repository_owner: 'acme',
      repository_owner_id: '42',
      run_id: '9876543210',
      event_name: 'push',
      workflow_ref: 'acme/app/.github/workflows/deploy.yml@refs/heads/main',
      job_workflow_ref: 'acme/app/.github/workflows/deploy.yml@refs/heads/main',
      ...overrides,
    });
  }

  it('accepts several audiences', async () => {
    const token = await signToken(
      key,
      ghClaims({ aud: ['https://github.com/acme', 'jit-broker'] }),
    );
    await expect(ghVerifier().verify(token)).resolves.toMatchObject({ issuer: 'gha' });
  });

  it('refuses ids that merely end in digits', async () => {
    for (const name of ['repository_id', 'repository_owner_id', 'run_id']) {
      const token = await signToken(key, ghClaims({ [name]: 'x123' }));
      expect(await reasonFor(ghVerifier().verify(token))).toBe('claim_invalid');
    }
  });

  it('refuses a repository that is not exactly owner/name, even under the right owner', async () => {
    for (const repository of ['acme/x/app', 'acme/app/', 'acme/a pp']) {
      const token = await signToken(key, ghClaims({ repository }));
      expect(await reasonFor(ghVerifier().verify(token))).toBe('claim_invalid');
    }
  });
});

describe('spiffe profile', () => {
  const TD = 'prod.example.org';
  let bundlePath: string;
  let svidKey: TestKey;

  beforeAll(async () => {
    svidKey = await makeKey('svid-1');
    bundlePath = writeJwksFile({ keys: [{ ...svidKey.jwk, use: 'jwt-svid' }] });
  });

  function svidVerifier(): IdentityVerifier {
    return new IdentityVerifier(
      [
        issuerConfig({
          name: 'spire',
          profile: 'spiffe',
          issuer: `spiffe://${TD}`,
          bundle_file: bundlePath,
        }),
      ],
      [],
      { now: clock.now },
    );
  }

  const svid = { sub: `spiffe://${TD}/ns/mcp/sa/web`, aud: 'jit-broker' };

  it('accepts typ JWT and JOSE (JWT-SVID §2.3) and nothing else', async () => {
    for (const typ of ['JWT', 'JOSE']) {
      const token = await signToken(svidKey, { ...svid, exp: clock.seconds + 300 }, { typ });
      await expect(svidVerifier().verify(token)).resolves.toMatchObject({ issuer: 'spire' });
    }
    const other = await signToken(
      svidKey,
      { ...svid, exp: clock.seconds + 300 },
      { typ: 'at+jwt' },
    );
    expect(await reasonFor(svidVerifier().verify(other))).toBe('forbidden_header');
  });
});

describe('profile helpers', () => {
  it('takes only plain objects as records', () => {
    expect(isRecord({ a: 1 })).toBe(true);
    expect(isRecord([])).toBe(false);
    expect(isRecord(null)).toBe(false);
    expect(isRecord('object')).toBe(false);
  });

  it('takes only non-empty strings as names', () => {
    expect(nonEmptyString('a')).toBe(true);
    expect(nonEmptyString('')).toBe(false);
    expect(nonEmptyString(1)).toBe(false);
    expect(nonEmptyString(['a'])).toBe(false);
  });
});

describe('SPIFFE ID limits', () => {
  it('accepts an ID of exactly 2048 bytes and a trust domain of exactly 255', () => {
    const prefix = 'spiffe://example.org/';
    const longest = `${prefix}${'a'.repeat(2048 - prefix.length)}`;
    expect(parseSpiffeId(longest)).toEqual({
      trustDomain: 'example.org',
      path: longest.slice('spiffe://example.org'.length),
    });
    const domain = 'a'.repeat(255);
    expect(parseSpiffeId(`spiffe://${domain}/w`)).toEqual({ trustDomain: domain, path: '/w' });
  });

  it('says why an ID is refused', () => {
    expect(parseSpiffeId(`spiffe://example.org/${'a'.repeat(2048)}`)).toMatch(/longer than 2048/);
    expect(parseSpiffeId('https://example.org/w')).toMatch(/scheme/);
    expect(parseSpiffeId('spiffe:///w')).toMatch(/trust domain is empty/);
    expect(parseSpiffeId(`spiffe://${'a'.repeat(256)}/w`)).toMatch(/longer than 255/);
    expect(parseSpiffeId('spiffe://Example.org/w')).toMatch(/trust domain has a character/);
    expect(parseSpiffeId('spiffe://example.org//w')).toMatch(/empty segment/);
    expect(parseSpiffeId('spiffe://example.org/')).toMatch(/trailing/);
    expect(parseSpiffeId('spiffe://example.org/../w')).toMatch(/"\." or "\.\." segment/);
    expect(parseSpiffeId('spiffe://example.org/w?x=1')).toMatch(/character outside/);
  });

  it('takes a configured trust domain only without a path', () => {
    expect(trustDomainOf('spiffe://example.org')).toBe('example.org');
    expect(() => trustDomainOf('spiffe://example.org/w')).toThrow(/it has a path/);
    expect(() => trustDomainOf('https://example.org')).toThrow(/scheme is not spiffe/);
  });
});

describe('workload claim matchers', () => {
  function identity(claims: Record<string, unknown>): VerifiedIdentity {
    return { issuer: 'idp', iss: ISS, subject: 'agent', claims, tokenHash: 'h', expiresAt: 0 };
  }

  function mapping(claims: Record<string, string | string[]>): WorkloadMapping {
    return new WorkloadMapping([
      workloadSchema.parse({ id: 'w', issuer: 'idp', subject: 'agent', tier: 'read', claims }),
    ]);
  }

  it('compares a single accepted value whole, never as a substring', () => {
    expect(mapping({ team: 'admins' }).match(identity({ team: 'admin' }))).toBeUndefined();
    expect(mapping({ team: 'admins' }).match(identity({ team: 'admins' }))?.id).toBe('w');
  });

  it('never matches a boolean claim, even against its text', () => {
    expect(mapping({ admin: 'true' }).match(identity({ admin: true }))).toBeUndefined();
  });

  it('matches a claim whose own name contains "/" before walking a path', () => {
    const m = mapping({ 'example.com/team': 'red' });
    expect(m.match(identity({ 'example.com/team': 'red' }))?.id).toBe('w');
    expect(m.match(identity({ 'example.com': { team: 'red' } }))?.id).toBe('w');
  });

  it('walks only into objects: not into arrays, strings or null', () => {
    expect(
      mapping({ 'groups/0': 'admins' }).match(identity({ groups: ['admins'] })),
    ).toBeUndefined();
    expect(mapping({ 'name/0': 'a' }).match(identity({ name: 'abc' }))).toBeUndefined();
    expect(mapping({ 'name/length': '3' }).match(identity({ name: 'abc' }))).toBeUndefined();
    expect(mapping({ 'org/team': 'red' }).match(identity({ org: null }))).toBeUndefined();
  });
});
