import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AwsFake, type AwsFakeError, startAwsFake } from '../fakes/aws.js';
import { awsTarget, useBrokerCredentials } from '../helpers/aws-fake-target.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';
import { activeLeases, expectNoSecretOutput } from '../helpers/lease-http.js';

/*
 * What a caller is told when STS refuses or fails a mint, on `/v1/credentials` (problem+json
 * with a stable code) and on `/oauth/token` (RFC 6749): the broker's own access refused is
 * an operator's problem (502 `provider_misconfigured`), a policy too large for STS is the
 * caller's (422 `scope_invalid` / `invalid_scope`), throttling says when to come back (503
 * with `Retry-After`). No answer carries a key, a token or AWS's text about the broker's own
 * principal.
 */

const BUCKET_OBJECTS = 'arn:aws:s3:::reports-2026/*';
/** AWS's own text names the broker's principal: a caller is never shown it. */
const OWN_PRINCIPAL_TEXT = 'User: arn:aws:iam::123456789012:user/jit-broker-own is not authorized';

let fake: AwsFake;
let h: Harness;
let agentA: string;
let short: string;
const secrets: string[] = [];
const issued: string[] = [];
const savedEnv = { ...process.env };

beforeAll(async () => {
  fake = await startAwsFake();
  const role = fake.createRole();
  useBrokerCredentials(fake);
  secrets.push(fake.brokerCredentials.secretAccessKey);
  h = await startHarness({
    store: 'memory',
    listen: true,
    configure(raw) {
      // One character: a valid workload id, but too short for STS's SourceIdentity (2-64).
      (raw.workloads as unknown[]).push({
        id: 'z',
        issuer: 'test',
        subject: 'spiffe://test/z',
        tier: 'write',
      });
      (raw.targets as unknown[]).push(awsTarget(fake, role.arn));
      (raw.policies as unknown[]).push({
        name: 'agents-read-reports',
        workloads: ['agent-a', 'z'],
        target: 'aws-reports',
        allow: { actions: ['s3:GetObject'], resources: [BUCKET_OBJECTS] },
        intents: ['report'],
        default_ttl: '5m',
        max_ttl: '15m',
      });
    },
  });
  agentA = await h.workloadToken('spiffe://test/agent-a');
  short = await h.workloadToken('spiffe://test/z');
});

afterEach(() => {
  fake.failAlways('AssumeRole', undefined);
});

afterAll(async () => {
  await h?.close();
  await fake?.close();
  process.env = savedEnv;
});

const task = () => ({ id: `aws-err-${randomBytes(3).toString('hex')}`, intent: 'report' });

async function credentials(token = agentA) {
  const res = await h.request('/v1/credentials', {
    method: 'POST',
    token,
    json: {
      target: 'aws-reports',
      scope: { actions: ['s3:GetObject'], resources: [BUCKET_OBJECTS] },
      task: task(),
    },
  });
  const text = await res.text();
  return { res, text, body: JSON.parse(text) as Record<string, unknown> };
}

async function oauthToken() {
  const res = await h.request('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: agentA,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      audience: 'aws-reports',
      scope: `actions=s3:GetObject resources=${BUCKET_OBJECTS}`,
      task_id: task().id,
      task_intent: 'report',
    }).toString(),
  });
  const text = await res.text();
  return { res, text, body: JSON.parse(text) as Record<string, unknown> };
}

/** Nothing secret and nothing of AWS's text about the broker's principal in an answer. */
function expectClean(text: string): void {
  expect(text).not.toContain(OWN_PRINCIPAL_TEXT);
  expect(text).not.toContain(fake.brokerCredentials.accessKeyId);
  for (const secret of secrets) expect(text).not.toContain(secret);
}

const ACCESS_DENIED: AwsFakeError = {
  status: 403,
  code: 'AccessDenied',
  message: OWN_PRINCIPAL_TEXT,
};
const TOO_LARGE: AwsFakeError = {
  status: 400,
  code: 'PackedPolicyTooLarge',
  message:
    'Packed size of the session policy and session tags exceeds the limit: 104% of allowed size',
};
const THROTTLED: AwsFakeError = { status: 400, code: 'Throttling', message: 'Rate exceeded' };

describe('STS failures on POST /v1/credentials', () => {
  it("AccessDenied on the broker's own AssumeRole: 502 provider_misconfigured, for the operator to fix", async () => {
    fake.failNext('AssumeRole', ACCESS_DENIED);
    const { res, text, body } = await credentials();
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(body.code).toBe('provider_misconfigured');
    expect(body.detail).toMatch(/the broker's own access to target aws-reports was refused/);
    expect(res.headers.get('retry-after')).toBeNull();
    expectClean(text);
    // The operator reads the step, AWS's code and the permissions to check in the log.
    expect(h.logs.text).toContain("AWS denied the broker's own principal (AccessDenied)");
    expect(h.logs.text).toContain('sts:AssumeRole');
    expect(await activeLeases(h, 'agent-a')).toEqual([]);
  });

  it('PackedPolicyTooLarge: 422 scope_invalid naming the limit, not a 502', async () => {
    fake.failNext('AssumeRole', TOO_LARGE);
    const { res, text, body } = await credentials();
    expect(res.status).toBe(422);
    expect(body.code).toBe('scope_invalid');
    expect(body.detail).toMatch(/target aws-reports cannot grant this scope/);
    expect(body.detail).toMatch(/packed size limit/);
    expectClean(text);
  });

  it('throttling: 503 provider_unavailable with Retry-After, and the next request works', async () => {
    // Every attempt of the SDK's own retries is throttled.
    fake.failAlways('AssumeRole', THROTTLED);
    const before = fake.calls('AssumeRole');
    const { res, text, body } = await credentials();
    expect(fake.calls('AssumeRole') - before).toBeGreaterThan(1);
    expect(res.status).toBe(503);
    expect(body.code).toBe('provider_unavailable');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expectClean(text);
    fake.failAlways('AssumeRole', undefined);
    const retried = await credentials();
    expect(retried.res.status).toBe(201);
    const credential = retried.body.credential as Record<string, string>;
    secrets.push(credential.secret_access_key ?? '', credential.session_token ?? '');
    issued.push(String(retried.body.lease_id));
  });

  it('another refusal by AWS stays provider_failed 502', async () => {
    fake.failNext('AssumeRole', {
      status: 400,
      code: 'MalformedPolicyDocument',
      message: 'Syntax errors in policy.',
    });
    const { res, body, text } = await credentials();
    expect(res.status).toBe(502);
    expect(body.code).toBe('provider_failed');
    expectClean(text);
  });

  it('a workload id too short for SourceIdentity is refused before any AWS call', async () => {
    const before = fake.callCounts();
    const { res, body, text } = await credentials(short);
    expect(res.status).toBe(502);
    expect(body.code).toBe('provider_misconfigured');
    expectClean(text);
    expect(fake.calls('AssumeRole')).toBe(before.AssumeRole ?? 0);
    expect(h.logs.text).toContain(
      'aws target \\"aws-reports\\": the workload id (SourceIdentity) \\"z\\" must be 2-64',
    );
    expect(await activeLeases(h, 'z')).toEqual([]);
  });
});

describe('STS failures on POST /oauth/token (RFC 6749 §5.2)', () => {
  it('AccessDenied: 502 server_error', async () => {
    fake.failNext('AssumeRole', ACCESS_DENIED);
    const { res, body, text } = await oauthToken();
    expect(res.status).toBe(502);
    expect(body.error).toBe('server_error');
    expectClean(text);
  });

  it('PackedPolicyTooLarge: 400 invalid_scope', async () => {
    fake.failNext('AssumeRole', TOO_LARGE);
    const { res, body, text } = await oauthToken();
    expect(res.status).toBe(400);
    expect(body.error).toBe('invalid_scope');
    expect(String(body.error_description)).toMatch(/packed size limit/);
    expectClean(text);
  });

  it('throttling: 503 temporarily_unavailable with Retry-After', async () => {
    fake.failAlways('AssumeRole', THROTTLED);
    const { res, body, text } = await oauthToken();
    expect(res.status).toBe(503);
    expect(body.error).toBe('temporarily_unavailable');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expectClean(text);
  });
});

describe('after every failure', () => {
  it('no secret reached the logs or events, and no failed mint left an active lease', async () => {
    await h.flushedEvents();
    expect(secrets.length).toBeGreaterThanOrEqual(3);
    expectNoSecretOutput(h, secrets);
    expect(await activeLeases(h, 'agent-a')).toEqual(issued);
  });
});
