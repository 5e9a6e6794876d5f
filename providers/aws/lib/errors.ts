import { ProviderError } from '../../provider.js';

/** What an AWS SDK error carries that the mapping reads (never its message's secrets). */
interface AwsSdkError {
  name?: string;
  message?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

const THROTTLED = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'SlowDown',
]);
/** The broker's own principal or its credentials are refused: an operator must act. */
const OWN_ACCESS = new Set(['AccessDenied', 'AccessDeniedException']);
const OWN_CREDENTIALS = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'IncompleteSignature',
  'CredentialsProviderError',
]);
/** The session policy and tags of this request do not fit STS's packed size: the caller's to shrink. */
const TOO_LARGE = new Set(['PackedPolicyTooLarge', 'PackedPolicyTooLargeException']);
const REJECTED = new Set([
  'MalformedPolicyDocument',
  'MalformedPolicyDocumentException',
  'ValidationError',
  'InvalidParameterValue',
]);

/**
 * One stable mapping from STS and IAM failures to provider errors. The message names the
 * target, the step and AWS's error code; AWS's own message is kept only when the code says it
 * is about the request (it can quote the session policy, never a secret the broker holds).
 */
export function toProviderError(target: string, step: string, err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = (err ?? {}) as AwsSdkError;
  const code = e.name ?? e.code ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const where = `aws target "${target}": ${step}`;
  if (THROTTLED.has(code)) {
    return new ProviderError('provider_unavailable', `${where}: throttled by AWS (${code})`, true);
  }
  if (OWN_ACCESS.has(code)) {
    return new ProviderError(
      'provider_misconfigured',
      `${where}: AWS denied the broker's own principal (${code}); check the role's trust policy and the broker's sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity, iam:GetRolePolicy and iam:PutRolePolicy permissions`,
      false,
    );
  }
  if (OWN_CREDENTIALS.has(code)) {
    return new ProviderError(
      'provider_misconfigured',
      `${where}: AWS refused the broker's own credentials (${code}); check the SDK credential chain of the broker`,
      false,
    );
  }
  if (code === 'RegionDisabledException') {
    return new ProviderError(
      'provider_misconfigured',
      `${where}: STS is not activated in the target's region`,
      false,
    );
  }
  if (code === 'NoSuchEntity' || code === 'NoSuchEntityException') {
    return new ProviderError(
      'provider_misconfigured',
      `${where}: the role does not exist (${code})`,
      false,
    );
  }
  if (code === 'LimitExceeded' || code === 'LimitExceededException') {
    return new ProviderError(
      'provider_rejected',
      `${where}: IAM policy size limit reached (${code})`,
      true,
    );
  }
  if (TOO_LARGE.has(code)) {
    return new ProviderError(
      'invalid_scope',
      `${where}: the session policy and session tags exceed AWS's packed size limit (${clip(e.message)}); ask for fewer actions or resources`,
      false,
    );
  }
  if (REJECTED.has(code)) {
    return new ProviderError(
      'provider_rejected',
      `${where}: AWS rejected the request (${code}: ${clip(e.message)})`,
      false,
    );
  }
  if (e.$fault === 'server' || (status !== undefined && status >= 500) || status === undefined) {
    return new ProviderError(
      'provider_unavailable',
      `${where}: AWS unreachable or failing (${code})`,
      true,
    );
  }
  return new ProviderError('provider_rejected', `${where}: AWS answered ${status} ${code}`, false);
}

function clip(message: string | undefined): string {
  const text = (message ?? '').replace(/[^\x20-\x7e]/g, '?');
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
