/** What a workload receives: an STS session, snake_case like every other credential. */
export interface AwsCredential {
  access_key_id: string;
  secret_access_key: string;
  session_token: string;
  /** ISO 8601: the lease's expiry, also the session policy's `DateLessThan aws:CurrentTime`. */
  expires_at: string;
  /** ISO 8601: STS's `Expiration` (at least 15 minutes after issue). */
  session_expires_at: string;
  region: string;
  role_arn: string;
}
