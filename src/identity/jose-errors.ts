import { errors } from 'jose';
import { Rejection } from './rejection.js';

function claimRejection(err: errors.JWTClaimValidationFailed): Rejection {
  const { claim, reason } = err;
  if (claim === 'aud')
    return new Rejection('audience_mismatch', 'the token is not for this broker');
  if (reason !== 'check_failed') {
    return new Rejection('claim_invalid', `the "${claim}" claim is missing or of the wrong type`);
  }
  switch (claim) {
    case 'iss':
      return new Rejection('issuer_mismatch', 'the "iss" claim does not match the issuer');
    case 'nbf':
    case 'iat':
      return new Rejection('not_yet_valid', `the "${claim}" claim is in the future`);
    default:
      return new Rejection('claim_invalid', `the "${claim}" claim is not accepted`);
  }
}

/**
 * Translates what jose throws into our reasons. Anything else that verification throws
 * (jose raises TypeError when a key cannot serve the token's algorithm) is the token's
 * fault as far as the caller is concerned, so it is a failed signature, not a 500.
 */
export function rejectionFromJose(err: unknown): Rejection {
  if (err instanceof Rejection) return err;
  if (err instanceof errors.JWTExpired) {
    return err.claim === 'iat'
      ? new Rejection('too_old', 'the token is older than the issuer allows')
      : new Rejection('expired', 'the token has expired');
  }
  if (err instanceof errors.JWTClaimValidationFailed) return claimRejection(err);
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return new Rejection('algorithm_not_allowed', "the token's algorithm is not accepted");
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new Rejection('bad_signature', 'the signature does not verify');
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
    return new Rejection('malformed', 'not a well-formed JWT');
  }
  return new Rejection('bad_signature', "the token cannot be verified with the issuer's keys");
}
