export type { AwsCredentialIdentity, AwsSessionCredential } from './aws-credential.js';
export {
  type AwsCredentialProvider,
  type AwsCredentialsOptions,
  type AwsScope,
  awsCredentials,
} from './aws-credentials.js';
export { CredentialCache, type CredentialCacheOptions } from './cache.js';
export { JitBrokerClient, type JitBrokerClientOptions } from './client.js';
export {
  type ClientErrorCode,
  isJitBrokerError,
  JitBrokerError,
  type JitBrokerErrorCode,
  type ProblemFieldError,
  type ProblemReason,
} from './errors.js';
export type { RetryOptions } from './lib/transport.js';
export { tokenFile } from './token-file.js';
export type {
  CredentialRequest,
  Introspection,
  JwtCredential,
  Lease,
  LeaseInfo,
  LeaseState,
  Revocation,
  Task,
  TaskRef,
  TaskRevocation,
} from './types.js';
