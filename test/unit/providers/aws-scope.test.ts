import { describe, expect, it } from 'vitest';
import {
  awsCeilingSchema,
  awsProviderFactory,
  awsScopeSchema,
  awsTierAllows,
  awsWithin,
  expandActionPattern,
  expandScope,
  iamGlob,
  patternCovers,
  sessionPolicy,
} from '../../../providers/aws/index.js';

const scope = (actions: string[], resources = ['arn:aws:s3:::reports/*'], more = {}) =>
  awsScopeSchema.parse({ actions, resources, ...more });
const ceiling = (actions: string[], resources = ['arn:aws:s3:::reports*']) =>
  awsCeilingSchema.parse({ actions, resources });

describe('aws action catalogue', () => {
  it('expands a wildcard against the catalogue, case-insensitively, in AWS spelling', () => {
    const names = expandActionPattern('s3:getobject*')?.map((a) => a.name) ?? [];
    expect(names).toContain('s3:GetObject');
    expect(names).toContain('s3:GetObjectTagging');
    expect(names).not.toContain('s3:PutObject');
    expect(names.every((n) => n.startsWith('s3:GetObject'))).toBe(true);
  });

  it('knows no service or action it does not have', () => {
    expect(expandActionPattern('nosuchservice:Get*')).toBeNull();
    expect(expandActionPattern('s3:GetObjekt')).toEqual([]);
    expect(expandActionPattern('../../etc/passwd:x')).toBeNull();
  });

  it('reads each action access level, compound levels included', () => {
    const put = expandActionPattern('iam:PutRolePolicy')?.[0];
    expect(put?.levels).toContain('Permissions management');
    expect(expandActionPattern('s3:ListBucket')?.[0]?.levels).toEqual(['List']);
  });

  it('deduplicates what several patterns name', () => {
    const actions = expandScope(['s3:GetObject', 's3:GetObj?ct', 's3:getobject']);
    expect(actions.map((a) => a.name)).toEqual(['s3:GetObject']);
  });
});

describe('IAM wildcards', () => {
  it('* crosses / and :, ? is one character', () => {
    expect(iamGlob('arn:aws:s3:::b/*').test('arn:aws:s3:::b/x/y:z')).toBe(true);
    expect(iamGlob('arn:aws:s3:::b?').test('arn:aws:s3:::b1')).toBe(true);
    expect(iamGlob('arn:aws:s3:::b?').test('arn:aws:s3:::b12')).toBe(false);
    expect(iamGlob('a*b*c').test('a'.repeat(5_000))).toBe(false);
  });

  it('a pattern covers another only when everything it matches is matched', () => {
    expect(patternCovers('arn:aws:s3:::reports*', 'arn:aws:s3:::reports-2026/*')).toBe(true);
    expect(patternCovers('arn:aws:s3:::reports-*', 'arn:aws:s3:::*')).toBe(false);
    expect(patternCovers('arn:aws:s3:::reports-*', '*')).toBe(false);
    expect(patternCovers('*', 'arn:aws:s3:::anything*')).toBe(true);
    expect(patternCovers('arn:aws:s3:::b?', 'arn:aws:s3:::b*')).toBe(false);
    expect(patternCovers('arn:aws:s3:::b*', 'arn:aws:s3:::b?')).toBe(true);
    expect(patternCovers('arn:aws:s3:::b?', 'arn:aws:s3:::b?')).toBe(true);
    expect(patternCovers('arn:aws:s3:::b1', 'arn:aws:s3:::b?')).toBe(false);
    expect(patternCovers('arn:aws:s3:::a/*/x', 'arn:aws:s3:::a/b/x')).toBe(true);
    expect(patternCovers('arn:aws:s3:::a/*/x', 'arn:aws:s3:::a/*')).toBe(false);
    expect(patternCovers('arn:aws:s3:::a*', 'arn:aws:s3:::a')).toBe(true);
    expect(patternCovers('arn:aws:s3:::a', 'arn:aws:s3:::a*')).toBe(false);
  });
});

describe('aws scope and ceiling', () => {
  it('is within when every expanded action and every resource is covered', () => {
    expect(awsWithin(scope(['s3:GetObject']), ceiling(['s3:Get*']))).toEqual({ ok: true });
    expect(awsWithin(scope(['s3:GetObject*']), ceiling(['s3:GetObject*']))).toEqual({ ok: true });
  });

  it('refuses a wildcard whose expansion leaves the ceiling, naming the action', () => {
    const check = awsWithin(scope(['s3:GetObject*']), ceiling(['s3:GetObject']));
    expect(check.ok).toBe(false);
    expect(check).toMatchObject({ reason: expect.stringMatching(/from s3:GetObject\*/) });
  });

  it('refuses a resource pattern broader than the ceiling', () => {
    const check = awsWithin(
      scope(['s3:GetObject'], ['arn:aws:s3:::*']),
      ceiling(['s3:*'], ['arn:aws:s3:::reports*']),
    );
    expect(check).toMatchObject({ ok: false, reason: expect.stringMatching(/broader/) });
  });

  it('refuses an action of another service that a name pattern would not catch', () => {
    expect(awsWithin(scope(['s3:GetObject']), ceiling(['s3x:GetObject'])).ok).toBe(false);
  });

  it('refuses NotAction and NotResource in scopes and ceilings', () => {
    for (const key of ['NotAction', 'NotResource', 'not_actions', 'not_resources']) {
      const parsed = awsScopeSchema.safeParse({
        actions: ['s3:GetObject'],
        resources: ['*'],
        [key]: ['s3:*'],
      });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]?.message).toMatch(/Not(Action|Resource) is refused/);
      expect(
        awsCeilingSchema.safeParse({ actions: ['s3:*'], resources: ['*'], [key]: ['x'] }).success,
      ).toBe(false);
    }
  });

  it('refuses wildcards in the service part and unknown actions', () => {
    expect(awsScopeSchema.safeParse({ actions: ['*'], resources: ['*'] }).success).toBe(false);
    expect(awsScopeSchema.safeParse({ actions: ['s*:Get*'], resources: ['*'] }).success).toBe(
      false,
    );
    expect(awsScopeSchema.safeParse({ actions: ['s3:Nope'], resources: ['*'] }).success).toBe(
      false,
    );
    expect(
      awsScopeSchema.safeParse({ actions: ['s3:GetObject'], resources: ['arn:a"b'] }).success,
    ).toBe(false);
  });

  it('refuses policy variables in resources and STS actions (role chaining)', () => {
    const variable = awsScopeSchema.safeParse({
      actions: ['s3:GetObject'],
      resources: [`arn:aws:s3:::reports-$${'{'}aws:PrincipalTag/jit-task}`],
    });
    expect(variable.success).toBe(false);
    expect(
      awsCeilingSchema.safeParse({ actions: ['s3:*'], resources: ['arn:aws:s3:::x$*'] }).success,
    ).toBe(false);
    const chained = awsScopeSchema.safeParse({ actions: ['sts:AssumeRole'], resources: ['*'] });
    expect(chained.error?.issues[0]?.message).toMatch(/chained session/);
  });

  it('refuses a scope whose session policy exceeds 2,048 characters', () => {
    const parsed = awsScopeSchema.safeParse({ actions: ['s3:*'], resources: ['*'] });
    expect(parsed.error?.issues[0]?.message).toMatch(/2048/);
  });

  it('keeps aws:CurrentTime to the broker', () => {
    const parsed = awsScopeSchema.safeParse({
      actions: ['s3:GetObject'],
      resources: ['*'],
      conditions: { DateGreaterThan: { 'AWS:CurrentTime': '2099-01-01T00:00:00Z' } },
    });
    expect(parsed.success).toBe(false);
    expect(
      awsScopeSchema.safeParse({
        actions: ['s3:GetObject'],
        resources: ['*'],
        conditions: { 'Bogus;Operator': { 's3:prefix': 'x' } },
      }).success,
    ).toBe(false);
  });
});

describe('aws session policy', () => {
  it('lists the expanded actions and ends every Allow at the expiry, keeping pinned conditions', () => {
    const granted = scope(['s3:GetObject'], ['arn:aws:s3:::reports/*'], {
      conditions: {
        DateLessThan: { 'aws:EpochTime': '4102444800' },
        StringEquals: { 's3:ExistingObjectTag/class': 'public' },
      },
    });
    const policy = sessionPolicy(
      granted,
      expandScope(granted.actions),
      new Date('2026-12-06T14:00:00.000Z'),
    ) as { Statement: { Effect: string; Condition: Record<string, Record<string, string>> }[] };
    for (const statement of policy.Statement.filter((s) => s.Effect === 'Allow')) {
      expect(statement.Condition.DateLessThan).toEqual({
        'aws:EpochTime': '4102444800',
        'aws:CurrentTime': '2026-12-06T14:00:00.000Z',
      });
      expect(statement.Condition.StringEquals).toEqual({ 's3:ExistingObjectTag/class': 'public' });
    }
  });
});

describe('aws tier cap', () => {
  it('read holds List and Read only', () => {
    expect(awsTierAllows(scope(['s3:GetObject', 's3:ListBucket']), 'read')).toEqual({ ok: true });
    expect(awsTierAllows(scope(['s3:PutObject']), 'read')).toMatchObject({ ok: false });
    expect(awsTierAllows(scope(['s3:PutObjectTagging']), 'read')).toMatchObject({ ok: false });
  });

  it('write adds Write and Tagging, never Permissions management', () => {
    expect(awsTierAllows(scope(['s3:PutObject', 's3:PutObjectTagging']), 'write')).toEqual({
      ok: true,
    });
    const check = awsTierAllows(scope(['s3:PutBucketPolicy']), 'write');
    expect(check).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/Permissions management/),
    });
    expect(awsTierAllows(scope(['s3:PutBucketPolicy']), 'admin')).toEqual({ ok: true });
  });

  it('keeps a write workload from the calls that would edit or drop the Deny policy', () => {
    for (const action of ['iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:AttachRolePolicy']) {
      expect(
        awsTierAllows(scope([action], ['arn:aws:iam::123456789012:role/*']), 'write'),
      ).toMatchObject({ ok: false });
    }
  });

  it('judges what a wildcard expands to, not its name', () => {
    // PutObjectTagging hides behind a pattern that starts like no write verb.
    expect(awsTierAllows(scope(['s3:*ObjectTagging']), 'read')).toMatchObject({ ok: false });
  });
});

describe('aws target config', () => {
  const base = {
    name: 'aws-reports',
    provider: 'aws',
    role_arn: 'arn:aws:iam::123456789012:role/jit/broker-sessions',
    region: 'eu-west-1',
  };
  const create = (config: object) =>
    awsProviderFactory.create(config, { brokerUrl: 'https://broker.example' });

  it('accepts a role ARN with a path and endpoints for STS and IAM', () => {
    const provider = create({
      ...base,
      endpoint: { sts: 'http://127.0.0.1:1', iam: 'http://127.0.0.1:1' },
    });
    expect(provider.kind).toBe('aws');
    expect(provider.target).toBe('aws-reports');
  });

  it('refuses credentials in the config, bad ARNs, regions and floors', () => {
    expect(() => create({ ...base, access_key_id: 'AKIA…' })).toThrow(/Unrecognized key/);
    expect(() => create({ ...base, role_arn: 'arn:aws:iam::123:user/x' })).toThrow(/role_arn/);
    expect(() => create({ ...base, region: 'moon' })).toThrow(/region/);
    expect(() =>
      create({ ...base, session_duration_floor: 7200, max_session_duration: 3600 }),
    ).toThrow(/session_duration_floor/);
  });
});
