import type { AwsFake } from '../fakes/aws.js';

/**
 * Hands the fake's broker key to the SDK's default credential chain through the environment,
 * the only way the broker's own AWS key reaches it (never its config), and keeps the chain
 * from asking instance metadata. Callers restore `process.env` after their tests.
 */
export function useBrokerCredentials(fake: AwsFake): void {
  process.env.AWS_ACCESS_KEY_ID = fake.brokerCredentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = fake.brokerCredentials.secretAccessKey;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
}

/** An aws target's config whose STS and IAM calls go to the fake; `extra` adds or overrides. */
export function awsTarget(fake: AwsFake, roleArn: string, extra: Record<string, unknown> = {}) {
  return {
    name: 'aws-reports',
    provider: 'aws',
    role_arn: roleArn,
    region: 'eu-west-1',
    endpoint: { sts: fake.url, iam: fake.url },
    ...extra,
  };
}
