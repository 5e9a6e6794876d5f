import type { AuthFailureReason } from './types.js';

/**
 * Thrown by the helpers below `verify-jwt.ts`, which know why a token fails but not which
 * token it is; `verifyJwt` turns it into an `AuthError` carrying the token hash and issuer.
 */
export class Rejection extends Error {
  override readonly name = 'Rejection';
  readonly reason: AuthFailureReason;
  constructor(reason: AuthFailureReason, message: string) {
    super(message);
    this.reason = reason;
  }
}
