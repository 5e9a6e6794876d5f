import { GetRolePolicyCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsFake, IAM_ROLE_INLINE_POLICY_LIMIT, startAwsFake } from '../../fakes/aws.js';

/* The STS/IAM fake answers the real SDK clients as AWS does, and refuses what AWS refuses. */

describe('the AWS fake', () => {
  let fake: AwsFake;
  let sts: STSClient;
  let iam: IAMClient;

  beforeAll(async () => {
    fake = await startAwsFake();
    const credentials = fake.brokerCredentials;
    sts = new STSClient({ region: 'eu-west-1', endpoint: fake.url, credentials, maxAttempts: 1 });
    iam = new IAMClient({ region: 'us-east-1', endpoint: fake.url, credentials, maxAttempts: 1 });
  });
  afterAll(async () => {
    sts?.destroy();
    iam?.destroy();
    await fake?.close();
  });

  const errorOf = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected a failure');
      },
      (err: { name: string; $metadata?: { httpStatusCode?: number } }) => ({
        name: err.name,
        status: err.$metadata?.httpStatusCode,
      }),
    );

  it('refuses an unsigned request with the XML error AWS sends', async () => {
    const res = await fetch(fake.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=AssumeRole&Version=2011-06-15',
    });
    expect(res.status).toBe(403);
    const xml = await res.text();
    expect(xml).toMatch(
      /<ErrorResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/">\s*<Error>\s*<Type>Sender<\/Type>\s*<Code>IncompleteSignature<\/Code>/,
    );
  });

  it('refuses a key it does not know', async () => {
    const stranger = new STSClient({
      region: 'eu-west-1',
      endpoint: fake.url,
      credentials: { accessKeyId: 'AKIAAAAAAAAAAAAAAAAA', secretAccessKey: 'x'.repeat(40) },
      maxAttempts: 1,
    });
    const role = fake.createRole();
    const err = await errorOf(
      stranger.send(new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: 'lse_x1' })),
    );
    expect(err).toEqual({ name: 'InvalidClientTokenId', status: 403 });
    stranger.destroy();
  });

  it('verifies the SigV4 signature: the right key id with a wrong secret is refused', async () => {
    const forger = new STSClient({
      region: 'eu-west-1',
      endpoint: fake.url,
      credentials: {
        accessKeyId: fake.brokerCredentials.accessKeyId,
        secretAccessKey: 'y'.repeat(40),
      },
      maxAttempts: 1,
    });
    const role = fake.createRole();
    const err = await errorOf(
      forger.send(new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: 'lse_x2' })),
    );
    expect(err).toEqual({ name: 'SignatureDoesNotMatch', status: 403 });
    forger.destroy();
  });

  it('checks session names, durations, tags, external ids and session policy size', async () => {
    const role = fake.createRole({ externalId: 'ext-123' });
    const assume = (input: Partial<ConstructorParameters<typeof AssumeRoleCommand>[0]>) =>
      errorOf(
        sts.send(
          new AssumeRoleCommand({
            RoleArn: role.arn,
            RoleSessionName: 'lse_ok',
            ExternalId: 'ext-123',
            ...input,
          }),
        ),
      );
    expect(await assume({ RoleSessionName: 'bad name' })).toMatchObject({
      name: 'ValidationError',
    });
    expect(await assume({ DurationSeconds: 600 })).toMatchObject({ name: 'ValidationError' });
    expect(await assume({ DurationSeconds: 7_200 })).toMatchObject({ name: 'ValidationError' });
    expect(await assume({ Tags: [{ Key: 'task', Value: 'a#b' }] })).toMatchObject({
      name: 'ValidationError',
    });
    expect(await assume({ ExternalId: 'other' })).toEqual({ name: 'AccessDenied', status: 403 });
    expect(await assume({ Policy: 'x'.repeat(2_049) })).toMatchObject({ name: 'ValidationError' });
    expect(await assume({ Policy: '{' })).toMatchObject({
      name: 'MalformedPolicyDocumentException',
    });
    expect(fake.sessions().filter((s) => s.roleName === role.name)).toEqual([]);
  });

  it('takes calls signed with a session until its STS expiry, and only with its own token', async () => {
    const role = fake.createRole();
    const assumed = await sts.send(
      new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: 'lse_session1' }),
    );
    const c = assumed.Credentials;
    const session = {
      accessKeyId: String(c?.AccessKeyId),
      secretAccessKey: String(c?.SecretAccessKey),
      sessionToken: String(c?.SessionToken),
    };
    const as = (credentials: typeof session) =>
      new STSClient({ region: 'eu-west-1', endpoint: fake.url, credentials, maxAttempts: 1 });
    expect(await as(session).send(new GetCallerIdentityCommand({}))).toMatchObject({
      Arn: `arn:aws:sts::${fake.accountId}:assumed-role/${role.name}/lse_session1`,
      UserId: `${role.roleId}:lse_session1`,
      Account: fake.accountId,
    });
    // Even a Deny of everything leaves GetCallerIdentity working, as on AWS.
    role.policies.set(
      'deny-all',
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }],
      }),
    );
    expect((await as(session).send(new GetCallerIdentityCommand({}))).UserId).toBe(
      `${role.roleId}:lse_session1`,
    );
    // Anything else a session signs is evaluated: the role allows no IAM call, and the Deny refuses all.
    const sessionIam = new IAMClient({
      region: 'us-east-1',
      endpoint: fake.url,
      credentials: session,
      maxAttempts: 1,
    });
    expect(
      await errorOf(
        sessionIam.send(new GetRolePolicyCommand({ RoleName: role.name, PolicyName: 'deny-all' })),
      ),
    ).toEqual({ name: 'AccessDenied', status: 403 });
    const tampered = `${session.sessionToken.slice(0, -2)}AA`;
    expect(
      await errorOf(
        as({ ...session, sessionToken: tampered }).send(new GetCallerIdentityCommand({})),
      ),
    ).toEqual({ name: 'InvalidClientTokenId', status: 403 });
    expect(
      await errorOf(
        as({ ...session, secretAccessKey: 'y'.repeat(40) }).send(new GetCallerIdentityCommand({})),
      ),
    ).toEqual({ name: 'SignatureDoesNotMatch', status: 403 });
    fake.expireSession(session.accessKeyId);
    expect(await errorOf(as(session).send(new GetCallerIdentityCommand({})))).toEqual({
      name: 'ExpiredToken',
      status: 400,
    });
  });

  it('stores role policies URL-encoded and refuses more than IAM allows a role', async () => {
    const role = fake.createRole();
    const document = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: 'A', Effect: 'Deny', Action: '*', Resource: 'arn:aws:s3:::a b/%' }],
    });
    await iam.send(
      new PutRolePolicyCommand({ RoleName: role.name, PolicyName: 'p', PolicyDocument: document }),
    );
    const got = await iam.send(new GetRolePolicyCommand({ RoleName: role.name, PolicyName: 'p' }));
    expect(got.PolicyDocument).toBe(encodeURIComponent(document));
    const huge = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Deny', Action: '*', Resource: 'x'.repeat(IAM_ROLE_INLINE_POLICY_LIMIT) },
      ],
    });
    expect(
      await errorOf(
        iam.send(
          new PutRolePolicyCommand({ RoleName: role.name, PolicyName: 'q', PolicyDocument: huge }),
        ),
      ),
    ).toEqual({ name: 'LimitExceededException', status: 409 });
    expect(
      await errorOf(
        iam.send(new GetRolePolicyCommand({ RoleName: role.name, PolicyName: 'none' })),
      ),
    ).toEqual({ name: 'NoSuchEntityException', status: 404 });
  });

  it('answers the check endpoint with iam-simulate over role, Deny and session policies', async () => {
    const role = fake.createRole();
    const answer = await sts.send(
      new AssumeRoleCommand({
        RoleArn: role.arn,
        RoleSessionName: 'lse_check',
        DurationSeconds: 900,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }],
        }),
      }),
    );
    const accessKeyId = answer.Credentials?.AccessKeyId as string;
    const ask = async (action: string) => {
      const res = await fetch(`${fake.url}/_fake/check`, {
        method: 'POST',
        body: JSON.stringify({ accessKeyId, action, resource: 'arn:aws:s3:::b/k' }),
      });
      return ((await res.json()) as { decision: string }).decision;
    };
    expect(await ask('s3:GetObject')).toBe('Allowed');
    expect(await ask('s3:PutObject')).toBe('ImplicitlyDenied');
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: role.name,
        PolicyName: 'deny',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Deny',
              Action: '*',
              Resource: '*',
              Condition: { StringLike: { 'aws:userid': `${role.roleId}:lse_check` } },
            },
          ],
        }),
      }),
    );
    expect(await ask('s3:GetObject')).toBe('ExplicitlyDenied');
    expect(fake.calls('AssumeRole')).toBeGreaterThan(0);
  });
});
