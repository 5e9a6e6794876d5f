import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsTargetConfig } from '../config.js';

export interface AwsClients {
  sts: STSClient;
  iam: IAMClient;
}

/**
 * The real SDK clients. Credentials come from the SDK's default chain (environment, web
 * identity, container or instance profile); the config holds none. IAM is a global service
 * signed for us-east-1 in the `aws` partition.
 */
export function createClients(config: AwsTargetConfig): AwsClients {
  const requestHandler = {
    requestTimeout: config.timeout_ms,
    connectionTimeout: config.timeout_ms,
  };
  const sts = new STSClient({
    region: config.region,
    maxAttempts: 2,
    requestHandler,
    ...(config.endpoint?.sts === undefined ? {} : { endpoint: config.endpoint.sts }),
  });
  const iam = new IAMClient({
    region: 'us-east-1',
    maxAttempts: 2,
    requestHandler,
    ...(config.endpoint?.iam === undefined ? {} : { endpoint: config.endpoint.iam }),
  });
  return { sts, iam };
}
