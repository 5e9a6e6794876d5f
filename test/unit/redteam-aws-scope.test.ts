import { describe, expect, it } from 'vitest';
import { awsScopeSchema } from '../../providers/aws/scope.js';

/**
 * A session that can mint credentials of its own (an IAM user's access key or console
 * password, an identity pool's credentials) leaves this lease holding keys that neither the
 * session policy's time limit nor a Deny entry on the role can end, exactly as a chained
 * `sts:AssumeRole` would.
 */
describe('AWS scopes that would mint credentials outliving the lease', () => {
  it.each([
    'iam:CreateAccessKey',
    'iam:UpdateAccessKey',
    'iam:CreateLoginProfile',
    'iam:UpdateLoginProfile',
    'iam:CreateServiceSpecificCredential',
    'iam:ResetServiceSpecificCredential',
    'iam:UploadSSHPublicKey',
    'iam:UploadSigningCertificate',
    'cognito-identity:GetCredentialsForIdentity',
    'cognito-identity:GetOpenIdTokenForDeveloperIdentity',
  ])('refuses %s', (action) => {
    const parsed = awsScopeSchema.safeParse({ actions: [action], resources: ['*'] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/credentials/);
  });

  it('refuses a wildcard that expands to one (iam:Create*, iam:*AccessKey)', () => {
    for (const pattern of ['iam:Create*', 'iam:*AccessKey', 'cognito-identity:Get*']) {
      const parsed = awsScopeSchema.safeParse({ actions: [pattern], resources: ['*'] });
      expect(parsed.success, pattern).toBe(false);
      expect(parsed.error?.issues[0]?.message).toMatch(/credentials/);
    }
  });

  it('still takes IAM and identity-pool actions that mint nothing', () => {
    const parsed = awsScopeSchema.safeParse({
      actions: ['iam:GetUser', 'iam:ListAccessKeys', 'cognito-identity:DescribeIdentity'],
      resources: ['*'],
    });
    expect(parsed.success).toBe(true);
  });
});
