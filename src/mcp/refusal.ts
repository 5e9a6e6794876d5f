/**
 * Why the guard refused a request. A closed set, so a caller's `onRefusal` hook can switch on
 * it and the compiler narrows; the token itself never travels with a refusal.
 */
export type RefusalReason =
  | 'foreign_origin'
  | 'foreign_host'
  | 'no_token'
  | 'malformed'
  | 'algorithm_not_allowed'
  | 'wrong_type'
  | 'bad_signature'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'expired'
  | 'revoked'
  | 'introspection_unavailable'
  | 'insufficient_scope';

export interface Refusal {
  readonly reason: RefusalReason;
  /** HTTP status the guard answered: 401, 403 or 503. */
  readonly status: number;
  /** SHA-256 (hex) of the bearer token when one was sent: enough to correlate, never to replay. */
  readonly tokenHash?: string;
}

/** Thrown by the token checks below the guard; the guard turns it into a response. */
export class TokenRefused extends Error {
  constructor(
    readonly reason: Exclude<
      RefusalReason,
      'foreign_origin' | 'foreign_host' | 'no_token' | 'insufficient_scope'
    >,
    message: string,
  ) {
    super(message);
    this.name = 'TokenRefused';
  }
}
