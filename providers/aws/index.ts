export { type AwsTargetConfig, awsTargetSchema, ROLE_ARN, roleNameOf } from './config.js';
export { AWS_KIND, type AwsProvider, createAwsProvider } from './create-provider.js';
export type { AwsCredential } from './credential.js';
export { awsProviderFactory } from './factory.js';
export { expandActionPattern, serviceActions } from './lib/catalogue.js';
export { iamGlob, patternCovers } from './lib/iam-glob.js';
export { sessionPolicy } from './lib/session-policy.js';
export type { AwsHandle } from './mint.js';
export {
  type AwsCeiling,
  type AwsScope,
  awsCeilingSchema,
  awsScopeSchema,
  awsTierAllows,
  awsWithin,
  expandScope,
  MAX_SCOPE_ACTIONS,
  MAX_SCOPE_RESOURCES,
  SESSION_POLICY_MAX_CHARS,
} from './scope.js';
