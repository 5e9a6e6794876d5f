import { JitBrokerError } from './errors.js';

/*
 * The one place the client knows what an AWS target's credential looks like, so the SDK
 * credential provider and the CLI's `credential_process` read it the same way.
 */

/** The credential of an `aws` target, as the broker returns it (snake_case, ISO 8601). */
export interface AwsSessionCredential {
  access_key_id: string;
  secret_access_key: string;
  session_token: string;
  /** The lease's expiry: the session policy denies every action from this instant. */
  expires_at: string;
  /** When STS ends the session (at least 15 minutes); later than `expires_at`. */
  session_expires_at: string;
  region: string;
  role_arn: string;
}

/**
 * What an AWS SDK v3 credential provider resolves to (`AwsCredentialIdentity` of
 * `@smithy/types`), declared here so the client needs no AWS package.
 */
export interface AwsCredentialIdentity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  /** The broker's expiry, not STS's: the credential is useless after it. */
  readonly expiration: Date;
  readonly accountId?: string;
}

const REQUIRED = ['access_key_id', 'secret_access_key', 'session_token', 'expires_at'] as const;
/** `arn:<partition>:iam::<12-digit account>:role/...` */
const ROLE_ARN = /^arn:[a-z-]+:iam::(\d{12}):role\//;

function invalid(field: string): JitBrokerError {
  // Names the field, never its value: the rest of the object is a live credential.
  return new JitBrokerError({
    status: 0,
    code: 'invalid_response',
    detail: `the lease's credential has no valid ${field} (is the target an AWS target?)`,
  });
}

/**
 * The identity an AWS SDK signs with, from the credential of an AWS target's lease. The
 * expiration is the earlier of the credential's `expires_at` and the lease's own, so a
 * shortened lease is never outlived. Throws `invalid_response` naming the first bad field.
 */
export function awsIdentity(value: unknown, leaseExpiresAt: Date): AwsCredentialIdentity {
  const c = value;
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw invalid('credential');
  const fields = c as Record<string, unknown>;
  for (const key of REQUIRED) {
    const value = fields[key];
    if (typeof value !== 'string' || value === '' || /\s/.test(value)) throw invalid(key);
  }
  const credential = c as AwsSessionCredential;
  const expires = Date.parse(credential.expires_at);
  if (Number.isNaN(expires) || Number.isNaN(leaseExpiresAt.getTime())) throw invalid('expires_at');
  const accountId =
    typeof fields.role_arn === 'string' ? ROLE_ARN.exec(fields.role_arn)?.[1] : undefined;
  return {
    accessKeyId: credential.access_key_id,
    secretAccessKey: credential.secret_access_key,
    sessionToken: credential.session_token,
    expiration: new Date(Math.min(expires, leaseExpiresAt.getTime())),
    ...(accountId === undefined ? {} : { accountId }),
  };
}
