import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { describe, expect, it } from 'vitest';
import {
  type AwsCredentialsOptions,
  awsCredentials,
  JitBrokerClient,
  JitBrokerError,
} from '../../../src/client/index.js';
import { fakeFetch, json, problem } from '../../helpers/fake-fetch.js';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY';
const SESSION = 'FwoGZXIvYXdzEXAMPLESESSIONTOKEN//////////wEaDEXAMPLE';

const REQUEST: AwsCredentialsOptions = {
  target: 'reports-bucket',
  scope: { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::reports/*'] },
  task: { id: 'task-1', intent: 'summarize' },
};

/** A `POST /v1/credentials` answer for an AWS target, issued at `issuedAt` for `ttlS`. */
function awsLease(n: number, issuedAt = T0, ttlS = 300, credential: Record<string, unknown> = {}) {
  const expires = new Date(issuedAt + ttlS * 1000).toISOString();
  return {
    lease_id: `lse_${n}`,
    target: 'reports-bucket',
    provider: 'aws',
    workload: 'agent-a',
    scope: REQUEST.scope,
    task: REQUEST.task,
    issued_at: new Date(issuedAt).toISOString(),
    expires_at: expires,
    credential: {
      access_key_id: `ASIAEXAMPLE0000000${n}`,
      secret_access_key: SECRET,
      session_token: SESSION,
      expires_at: expires,
      session_expires_at: new Date(issuedAt + 900_000).toISOString(),
      region: 'eu-west-1',
      role_arn: 'arn:aws:iam::123456789012:role/jit-broker-agents',
      ...credential,
    },
  };
}

function setup(...responses: Parameters<typeof fakeFetch>) {
  const f = fakeFetch(...responses);
  const broker = new JitBrokerClient({
    url: 'http://127.0.0.1:8080',
    token: () => 'a.b.c',
    fetch: f.fetch,
    retry: { maxAttempts: 1 },
  });
  let now = T0;
  return {
    f,
    broker,
    at: (ms: number) => {
      now = T0 + ms;
    },
    provider: (options: Partial<AwsCredentialsOptions> = {}) =>
      broker.awsCredentials({ ...REQUEST, now: () => now, ...options }),
  };
}

describe('awsCredentials', () => {
  it('asks the broker for the scope and resolves to what an AWS SDK signs with', async () => {
    const { f, provider } = setup(json(201, awsLease(1)));
    const identity = await provider()();
    expect(identity).toEqual({
      accessKeyId: 'ASIAEXAMPLE00000001',
      secretAccessKey: SECRET,
      sessionToken: SESSION,
      expiration: new Date(T0 + 300_000),
      accountId: '123456789012',
    });
    const call = f.calls[0]!;
    expect(call.method).toBe('POST');
    expect(call.url).toBe('http://127.0.0.1:8080/v1/credentials');
    // Only the request goes to the broker, not the provider's own options.
    expect(JSON.parse(call.body!)).toEqual({
      target: REQUEST.target,
      scope: REQUEST.scope,
      task: REQUEST.task,
    });
  });

  it('is a credential provider as the AWS SDK types it', async () => {
    const { provider } = setup(json(201, awsLease(1)));
    const credentials: AwsCredentialIdentityProvider = provider();
    expect((await credentials()).accessKeyId).toBe('ASIAEXAMPLE00000001');
  });

  it('reuses the lease until refreshMarginMs before it expires, then asks for the next', async () => {
    const { f, provider, at } = setup(json(201, awsLease(1)), json(201, awsLease(2, T0 + 270_000)));
    const credentials = provider({ refreshMarginMs: 30_000 });
    await credentials();
    at(269_999);
    expect((await credentials()).accessKeyId).toBe('ASIAEXAMPLE00000001');
    expect(f.calls).toHaveLength(1);
    at(270_000);
    expect((await credentials()).accessKeyId).toBe('ASIAEXAMPLE00000002');
    expect(f.calls).toHaveLength(2);
  });

  it('never waits longer than half a short lease’s lifetime, so a short TTL is still reused', async () => {
    const { f, provider, at } = setup(
      json(201, awsLease(1, T0, 40)),
      json(201, awsLease(2, T0 + 20_000, 40)),
    );
    const credentials = provider({ refreshMarginMs: 30_000 });
    await credentials();
    at(19_999);
    expect((await credentials()).accessKeyId).toBe('ASIAEXAMPLE00000001');
    at(20_000);
    expect((await credentials()).accessKeyId).toBe('ASIAEXAMPLE00000002');
    expect(f.calls).toHaveLength(2);
  });

  it('shares one broker request between concurrent callers', async () => {
    let answer: (r: Response) => void = () => {};
    const { f, provider } = setup(() => new Promise<Response>((r) => (answer = r)));
    const credentials = provider();
    const callers = Promise.all([credentials(), credentials(), credentials(), credentials()]);
    await new Promise((r) => setTimeout(r, 10));
    answer(json(201, awsLease(1)));
    const identities = await callers;
    expect(new Set(identities.map((i) => i.accessKeyId))).toEqual(new Set(['ASIAEXAMPLE00000001']));
    expect(f.calls).toHaveLength(1);
  });

  it('concurrent callers share a failure too: one request, the same error for each', async () => {
    let answer: (r: Response) => void = () => {};
    const { f, provider } = setup(() => new Promise<Response>((r) => (answer = r)));
    const credentials = provider();
    const callers = Promise.allSettled([credentials(), credentials(), credentials()]);
    await new Promise((r) => setTimeout(r, 10));
    answer(problem(503, 'frozen', {}, { 'retry-after': '1' }));
    const results = await callers;
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    const reasons = new Set(results.map((r) => (r as PromiseRejectedResult).reason));
    expect(reasons.size).toBe(1);
    expect([...reasons][0]).toMatchObject({ code: 'frozen', status: 503 });
    expect(f.calls).toHaveLength(1);
  });

  it('hands the SDK only the identity: nothing else the broker put in the credential', async () => {
    const { provider } = setup(
      json(201, awsLease(1, T0, 300, { note: 'extra', accountId: '999999999999' })),
    );
    const identity = await provider()();
    expect(Object.keys(identity).sort()).toEqual(
      ['accessKeyId', 'accountId', 'expiration', 'secretAccessKey', 'sessionToken'].sort(),
    );
    expect(identity.accountId).toBe('123456789012');
  });

  it('throws the broker’s refusal as a JitBrokerError and does not cache it', async () => {
    const { f, provider } = setup(problem(403, 'scope_exceeds_ceiling'), json(201, awsLease(1)));
    const credentials = provider();
    const refused = await credentials().catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(JitBrokerError);
    expect(refused).toMatchObject({ status: 403, code: 'scope_exceeds_ceiling' });
    expect((await credentials()).accessKeyId).toBe('ASIAEXAMPLE00000001');
    expect(f.calls).toHaveLength(2);
  });

  it('a refused refresh is thrown, not papered over with the lease that is about to end', async () => {
    const { provider, at } = setup(json(201, awsLease(1)), problem(403, 'workload_blocked'));
    const credentials = provider();
    await credentials();
    at(280_000);
    await expect(credentials()).rejects.toMatchObject({ code: 'workload_blocked' });
  });

  it('forceRefresh, as the SDK may pass it, asks for a new lease', async () => {
    const { f, provider } = setup(json(201, awsLease(1)), json(201, awsLease(2)));
    const credentials = provider();
    await credentials();
    expect((await credentials({ forceRefresh: true })).accessKeyId).toBe('ASIAEXAMPLE00000002');
    expect(f.calls).toHaveLength(2);
  });

  it('expires with the lease when the lease ends before the credential says', async () => {
    const answer = awsLease(1);
    const { provider } = setup(
      json(201, { ...answer, expires_at: new Date(T0 + 60_000).toISOString() }),
    );
    expect((await provider()()).expiration).toEqual(new Date(T0 + 60_000));
  });

  it('a credential that is not an AWS session is invalid_response, naming the field but no secret', async () => {
    for (const broken of [
      { session_token: undefined },
      { access_key_id: '' },
      { secret_access_key: 42 },
      { expires_at: 'soon' },
    ]) {
      const { provider } = setup(json(201, awsLease(1, T0, 300, broken)));
      const err = (await provider()().catch((e: unknown) => e)) as JitBrokerError;
      expect(err).toBeInstanceOf(JitBrokerError);
      expect(err.code).toBe('invalid_response');
      expect(err.message).toContain(Object.keys(broken)[0]);
      expect(err.message).not.toContain(SECRET);
      expect(err.message).not.toContain(SESSION);
    }
    const { provider } = setup(json(201, { ...awsLease(1), credential: { token: 'x.y.z' } }));
    await expect(provider()()).rejects.toMatchObject({ code: 'invalid_response' });
  });

  it('revokes the lease of a credential nobody can use, and still throws invalid_response', async () => {
    const { f, provider } = setup(
      json(201, awsLease(7, T0, 300, { session_token: undefined })),
      json(200, { lease_id: 'lse_7', state: 'revoked' }),
    );
    await expect(provider()()).rejects.toMatchObject({ code: 'invalid_response' });
    expect(f.calls.map((c) => `${c.method} ${new URL(c.url).pathname}`)).toEqual([
      'POST /v1/credentials',
      'DELETE /v1/leases/lse_7',
    ]);
  });

  it('a failed revocation of the unusable lease does not hide invalid_response', async () => {
    const { provider } = setup(
      json(201, awsLease(7, T0, 300, { access_key_id: '' })),
      problem(503, 'store_unavailable'),
    );
    await expect(provider()()).rejects.toMatchObject({ code: 'invalid_response' });
  });

  it('leaves accountId out when the role ARN does not name an account', async () => {
    const { provider } = setup(json(201, awsLease(1, T0, 300, { role_arn: 'not-an-arn' })));
    expect(await provider()()).not.toHaveProperty('accountId');
  });

  it('refuses options it cannot use with a TypeError', () => {
    const { broker } = setup();
    expect(() => awsCredentials(broker, { ...REQUEST, refreshMarginMs: -1 })).toThrow(TypeError);
    expect(() =>
      awsCredentials(broker, {
        ...REQUEST,
        scope: { actions: 's3:GetObject' } as unknown as AwsCredentialsOptions['scope'],
      }),
    ).toThrow(TypeError);
  });
});
