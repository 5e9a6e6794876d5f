import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import {
  GetCallerIdentityCommand,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  STSClient,
} from '@aws-sdk/client-sts';
import { fromProcess } from '@aws-sdk/credential-provider-process';
import type {
  AwsCredentialIdentity,
  FinalizeHandler,
  FinalizeHandlerArguments,
} from '@aws-sdk/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JitBrokerClient } from '../../src/client/index.js';
import { type AwsFake, type AwsFakeRole, startAwsFake } from '../fakes/aws.js';
import { awsTarget, useBrokerCredentials } from '../helpers/aws-fake-target.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';

/*
 * AWS credentials where users expect them, against a broker whose AWS target is the STS/IAM
 * fake: `jit-broker aws credential-process` as the AWS SDKs run it (named by
 * `credential_process` in an AWS config file, executed by the real process credential
 * provider), and the client's `awsCredentials` as a real SDK client's `credentials`. What
 * the sessions may do is checked with the fake's policy evaluator.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = [process.execPath, '--import', 'tsx', join(ROOT, 'src/main.ts')];
const exec = promisify(execFile);
const BUCKET_OBJECTS = 'arn:aws:s3:::reports/*';
const OBJECT = 'arn:aws:s3:::reports/q3.csv';

let fake: AwsFake;
let role: AwsFakeRole;
let h: Harness;
let dir: string;
let tokenFile: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  fake = await startAwsFake();
  role = fake.createRole();
  useBrokerCredentials(fake);
  dir = mkdtempSync(join(tmpdir(), 'jit-aws-process-'));
  // No credentials file of the machine's user may take part.
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'no-credentials');
  h = await startHarness({
    listen: true,
    configure: (raw) => {
      (raw.targets as unknown[]).push(
        awsTarget(fake, role.arn, { name: 'reports', region: fake.region }),
      );
      (raw.policies as unknown[]).push({
        name: 'agents-read-reports',
        workloads: ['agent-a', 'agent-b'],
        target: 'reports',
        allow: { actions: ['s3:GetObject', 's3:ListBucket'], resources: [BUCKET_OBJECTS] },
        intents: ['summarize'],
        default_ttl: '5m',
        max_ttl: '15m',
      });
    },
  });
  tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, await h.workloadToken('spiffe://test/agent-a'), { mode: 0o600 });
});

afterAll(async () => {
  await h?.close();
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  process.env = savedEnv;
});

function args(overrides: Record<string, string> = {}): string[] {
  const options: Record<string, string> = {
    '--url': h.broker.url,
    '--token-file': tokenFile,
    '--target': 'reports',
    '--action': 's3:GetObject',
    '--resource': BUCKET_OBJECTS,
    '--task': 'task-1',
    '--intent': 'summarize',
    ...overrides,
  };
  return [
    'aws',
    'credential-process',
    ...Object.entries(options).flatMap(([k, v]) => (v === '' ? [] : [k, v])),
  ];
}

/** Runs the CLI as a process: its stdout, stderr and exit code. */
async function run(argv: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const [file = '', ...pre] = CLI;
  try {
    const { stdout, stderr } = await exec(file, [...pre, ...argv], { cwd: ROOT });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

/** An AWS config file whose profile `jit` runs the command, as a user would write it. */
function awsConfig(argv: string[]): string {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}`);
  const command = [...CLI, ...argv].map((word) => `'${word}'`).join(' ');
  writeFileSync(file, `[profile jit]\ncredential_process = ${command}\n`);
  return file;
}

async function viaSdk(argv: string[]) {
  process.env.AWS_CONFIG_FILE = awsConfig(argv);
  return fromProcess({ profile: 'jit' })();
}

describe('jit-broker aws credential-process', () => {
  it('prints exactly the credential_process document, and nothing else on stdout', async () => {
    const { stdout, stderr, code } = await run(args({ '--ttl': '120' }));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout.endsWith('\n')).toBe(true);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const document = JSON.parse(stdout) as Record<string, unknown>;
    expect(Object.keys(document)).toEqual([
      'Version',
      'AccessKeyId',
      'SecretAccessKey',
      'SessionToken',
      'Expiration',
    ]);
    const session = fake.sessions().find((s) => s.accessKeyId === document.AccessKeyId);
    expect(session).toBeDefined();
    expect(document).toEqual({
      Version: 1,
      AccessKeyId: session?.accessKeyId,
      SecretAccessKey: session?.secretAccessKey,
      SessionToken: session?.sessionToken,
      Expiration: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    // The broker's TTL, not STS's 15-minute floor.
    const lifetime = Date.parse(String(document.Expiration)) - Date.now();
    expect(lifetime).toBeGreaterThan(60_000);
    expect(lifetime).toBeLessThanOrEqual(120_000);
    expect(session?.expiresAt ?? 0).toBeGreaterThan(Date.parse(String(document.Expiration)));
  });

  it('the AWS SDK’s process credential provider accepts it, and the fake lets the session do what was asked until the broker’s expiry', async () => {
    const credentials = await viaSdk(args());
    expect(credentials.accessKeyId).toMatch(/^ASIA/);
    expect(credentials.sessionToken).toBeTruthy();
    const expiration = credentials.expiration as Date;
    expect(expiration).toBeInstanceOf(Date);
    const session = fake.sessions().find((s) => s.accessKeyId === credentials.accessKeyId);
    expect(session?.secretAccessKey).toBe(credentials.secretAccessKey);
    expect(session?.sessionToken).toBe(credentials.sessionToken);

    const may = (action: string, resource: string, at = Date.now()) =>
      fake.check({ accessKeyId: credentials.accessKeyId, action, resource, at });
    expect(await may('s3:GetObject', OBJECT)).toBe('Allowed');
    // What was not asked for is not in the session, though the role and the policy allow it.
    expect(await may('s3:PutObject', OBJECT)).not.toBe('Allowed');
    expect(await may('s3:GetObject', 'arn:aws:s3:::payroll/2026.csv')).not.toBe('Allowed');
    // At the Expiration the SDK was given, the session policy alone denies.
    expect(await may('s3:GetObject', OBJECT, expiration.getTime() - 1_000)).toBe('Allowed');
    expect(await may('s3:GetObject', OBJECT, expiration.getTime())).not.toBe('Allowed');
  });

  it('AWS accepts calls signed with the document, and knows the caller by the lease id', async () => {
    const credentials = await viaSdk(args({ '--task': 'task-identity' }));
    const sts = new STSClient({ region: fake.region, endpoint: fake.url, credentials });
    const caller = await sts.send(new GetCallerIdentityCommand({}));
    const res = await h.request('/v1/leases?task=task-identity&workload=agent-a', {
      token: await h.operatorToken(['viewer']),
    });
    const { leases } = (await res.json()) as { leases: { lease_id: string }[] };
    expect(leases).toHaveLength(1);
    const leaseId = leases[0]?.lease_id ?? '';
    expect(leaseId).toMatch(/^lse_/);
    expect(caller.Arn).toBe(`arn:aws:sts::${fake.accountId}:assumed-role/${role.name}/${leaseId}`);
    expect(caller.UserId).toBe(`${role.roleId}:${leaseId}`);
    expect(caller.Account).toBe(fake.accountId);
  });

  it('the session’s key is refused with another token, another secret, or after its STS expiry', async () => {
    const credentials = await viaSdk(args({ '--task': 'task-forged' }));
    const callAs = (c: AwsCredentialIdentity) =>
      new STSClient({ region: fake.region, endpoint: fake.url, credentials: c, maxAttempts: 1 })
        .send(new GetCallerIdentityCommand({}))
        .then(
          () => 'accepted',
          (err: { name?: string }) => err.name,
        );
    const other = await viaSdk(args({ '--task': 'task-forged-other' }));
    expect(await callAs(credentials)).toBe('accepted');
    expect(await callAs({ ...credentials, sessionToken: String(other.sessionToken) })).toBe(
      'InvalidClientTokenId',
    );
    expect(
      await callAs({
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.secretAccessKey,
      }),
    ).toBe('InvalidClientTokenId');
    expect(await callAs({ ...credentials, secretAccessKey: other.secretAccessKey })).toBe(
      'SignatureDoesNotMatch',
    );
    // Past STS's own expiry (the broker's TTL ended it long before, by the session policy).
    fake.expireSession(credentials.accessKeyId);
    expect(await callAs(credentials)).toBe('ExpiredToken');
    expect(await callAs(other)).toBe('accepted');
  });

  it('a session signs no IAM call its policies do not allow', async () => {
    const credentials = await viaSdk(args({ '--task': 'task-iam' }));
    const iam = new IAMClient({
      region: fake.region,
      endpoint: fake.url,
      credentials,
      maxAttempts: 1,
    });
    const before = role.policies.size;
    await expect(
      iam.send(
        new PutRolePolicyCommand({
          RoleName: role.name,
          PolicyName: 'escape',
          PolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
          }),
        }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(role.policies.size).toBe(before);
  });

  it('the lease is the workload’s, for the task and intent given', async () => {
    const { stdout } = await run(args({ '--task': 'task-lease', '--tool': 'read_report' }));
    const { AccessKeyId } = JSON.parse(stdout) as { AccessKeyId: string };
    const session = fake.sessions().find((s) => s.accessKeyId === AccessKeyId);
    const res = await h.request(`/v1/leases?task=task-lease&workload=agent-a`, {
      token: await h.operatorToken(['viewer']),
    });
    const { leases } = (await res.json()) as {
      leases: { lease_id: string; task: { id: string; intent: string; tool?: string } }[];
    };
    expect(leases).toHaveLength(1);
    expect(leases[0]?.task).toEqual({ id: 'task-lease', intent: 'summarize', tool: 'read_report' });
    expect(session?.sessionName).toBe(leases[0]?.lease_id);
    // The listing never carries the session's secrets.
    const listing = JSON.stringify(leases);
    expect(listing).not.toContain(session?.secretAccessKey);
    expect(listing).not.toContain(session?.sessionToken);
  });
});

describe('jit-broker aws credential-process failures: stderr and an exit code, never a document', () => {
  it('a scope beyond the policy’s ceiling is refused by the broker: exit 3, stdout empty, and the SDK reports it', async () => {
    const before = fake.calls('AssumeRole');
    const refused = await run(args({ '--action': 's3:DeleteObject' }));
    expect(refused.code).toBe(3);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^jit-broker: HTTP 403 \w+/);
    // The SDK's error carries the command's stderr, so the user sees why.
    await expect(viaSdk(args({ '--action': 's3:DeleteObject' }))).rejects.toThrow(/HTTP 403/);
    expect(fake.calls('AssumeRole')).toBe(before);
  });

  it('a token the broker does not accept: exit 3', async () => {
    const other = join(dir, 'other-token');
    writeFileSync(other, 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln');
    const refused = await run(args({ '--token-file': other }));
    expect(refused).toMatchObject({ code: 3, stdout: '' });
    expect(refused.stderr).toContain('HTTP 401');
    expect(refused.stderr).not.toContain('eyJhbGciOiJFUzI1NiJ9.e30');
  });

  it('a usage error exits 2 (the other cases: test/unit/cli/aws-credential-process.test.ts)', async () => {
    const [file = '', ...pre] = CLI;
    const env = { ...process.env, JIT_BROKER_URL: '', JIT_BROKER_TOKEN: '' };
    const result = await exec(file, [...pre, ...args({ '--url': '' })], { cwd: ROOT, env }).then(
      (r) => ({ ...r, code: 0 }),
      (e: { stdout: string; stderr: string; code: number }) => e,
    );
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 2, stdout: '' });
    expect(result.stderr).toContain('no broker');
  });

  it('an unreachable broker: exit 1', async () => {
    const result = await run(args({ '--url': 'http://127.0.0.1:1' }));
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toContain('connection refused');
  });

  it('a target that is not an AWS target gives no document', async () => {
    // The jwt target's scope has no actions or resources: the broker refuses the request.
    const result = await run(args({ '--target': 'tickets' }));
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(/^jit-broker: HTTP 422 /);
  });
});

describe('broker.awsCredentials as a real AWS SDK client’s credentials', () => {
  it('the SDK signs with the broker’s session, and calls share one lease until it nears its end', async () => {
    const token = await h.workloadToken('spiffe://test/agent-a');
    const broker = new JitBrokerClient({ url: h.broker.url, token: () => token });
    const credentials = broker.awsCredentials({
      target: 'reports',
      scope: { actions: ['s3:GetObject'], resources: [BUCKET_OBJECTS] },
      task: { id: 'task-sdk', intent: 'summarize' },
      ttl: 120,
    });
    const sts = new STSClient({ region: fake.region, endpoint: fake.url, credentials });
    const signed: Record<string, string>[] = [];
    sts.middlewareStack.addRelativeTo(
      (next: FinalizeHandler<ServiceInputTypes, ServiceOutputTypes>) =>
        async (args: FinalizeHandlerArguments<ServiceInputTypes>) => {
          signed.push({ ...(args.request as { headers: Record<string, string> }).headers });
          return next(args);
        },
      { name: 'recordSignedRequest', relation: 'after', toMiddleware: 'httpSigningMiddleware' },
    );
    const callers = [];
    for (let i = 0; i < 3; i++) callers.push(await sts.send(new GetCallerIdentityCommand({})));

    const identity = await credentials();
    const session = fake.sessions().find((s) => s.accessKeyId === identity.accessKeyId);
    expect(session?.sessionToken).toBe(identity.sessionToken);
    expect(signed).toHaveLength(3);
    for (const headers of signed) {
      expect(headers.authorization).toMatch(
        new RegExp(
          `^AWS4-HMAC-SHA256 Credential=${identity.accessKeyId}/\\d{8}/${fake.region}/sts/aws4_request, `,
        ),
      );
      expect(headers['x-amz-security-token']).toBe(identity.sessionToken);
    }
    const res = await h.request('/v1/leases?task=task-sdk&workload=agent-a', {
      token: await h.operatorToken(['viewer']),
    });
    const { leases } = (await res.json()) as { leases: { lease_id: string }[] };
    expect(leases.map((l) => l.lease_id)).toEqual([session?.sessionName]);
    // AWS accepted the session's signature and knows the caller by the lease id.
    for (const caller of callers) {
      expect(caller).toMatchObject({
        Account: fake.accountId,
        Arn: `arn:aws:sts::${fake.accountId}:assumed-role/${role.name}/${leases[0]?.lease_id}`,
        UserId: `${role.roleId}:${leases[0]?.lease_id}`,
      });
    }
    expect(
      await fake.check({
        accessKeyId: identity.accessKeyId,
        action: 's3:GetObject',
        resource: OBJECT,
      }),
    ).toBe('Allowed');
    expect(identity.expiration.getTime() - Date.now()).toBeLessThanOrEqual(120_000);
  });

  it('a refusal reaches the SDK call as the broker’s error', async () => {
    const token = await h.workloadToken('spiffe://test/agent-a');
    const broker = new JitBrokerClient({ url: h.broker.url, token: () => token });
    const sts = new STSClient({
      region: fake.region,
      endpoint: fake.url,
      credentials: broker.awsCredentials({
        target: 'reports',
        scope: { actions: ['s3:DeleteObject'], resources: [BUCKET_OBJECTS] },
        task: { id: 'task-sdk-refused', intent: 'summarize' },
      }),
    });
    const before = fake.calls('GetCallerIdentity');
    await expect(sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'JitBrokerError',
      status: 403,
    });
    expect(fake.calls('GetCallerIdentity')).toBe(before);
  });

  it('after the kill switch the session is denied at AWS and the provider gets no new one', async () => {
    const token = await h.workloadToken('spiffe://test/agent-b');
    const broker = new JitBrokerClient({ url: h.broker.url, token: () => token });
    const credentials = broker.awsCredentials({
      target: 'reports',
      scope: { actions: ['s3:GetObject'], resources: [BUCKET_OBJECTS] },
      task: { id: 'task-killed', intent: 'summarize' },
    });
    const identity = await credentials();
    const may = () =>
      fake.check({ accessKeyId: identity.accessKeyId, action: 's3:GetObject', resource: OBJECT });
    expect(await may()).toBe('Allowed');

    const res = await h.request('/v1/workloads/agent-b/revoke', {
      method: 'POST',
      token: await h.operatorToken(['revoker']),
      json: { reason: 'session keys leaked', block: true },
    });
    expect(res.status).toBeLessThan(300);
    expect(await may()).not.toBe('Allowed');
    await expect(credentials({ forceRefresh: true })).rejects.toMatchObject({
      name: 'JitBrokerError',
      status: 403,
    });
  });
});
