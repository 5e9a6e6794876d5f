import {
  decodeJwt,
  decodeProtectedHeader,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from 'jose';
import { JWS_ALGORITHMS } from '../config/schema.js';
import { Rejection } from './rejection.js';

/** DESIGN "Identity": checked before any decoding, so a huge token costs nothing to refuse. */
export const MAX_TOKEN_BYTES = 16 * 1024;

/**
 * Headers that name their own key or key location. Trusting them would let the token choose
 * the key that verifies it; keys come only from the issuer picked by `iss`, and these are
 * refused outright (never fetched) so nobody mistakes them for honoured.
 */
const KEY_BEARING_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;

const ASYMMETRIC_ALGORITHMS: ReadonlySet<string> = new Set(JWS_ALGORITHMS);

const BASE64URL = /^[A-Za-z0-9_-]*$/;

export interface UnverifiedToken {
  readonly header: ProtectedHeaderParameters;
  readonly payload: JWTPayload;
}

/**
 * Shape checks that need no key: size, compact JWS form, header hygiene. Nothing returned
 * here is trusted; the payload only serves to pick the issuer.
 */
export function inspectToken(token: string): UnverifiedToken {
  if (token === '') throw new Rejection('missing_token', 'no token');
  // `length` counts UTF-16 units; any non-ASCII token fails the charset check below, so
  // for tokens that get further this is a byte count.
  if (token.length > MAX_TOKEN_BYTES) {
    throw new Rejection('too_large', `token longer than ${MAX_TOKEN_BYTES} bytes`);
  }
  const parts = token.split('.');
  if (parts.length === 5) {
    throw new Rejection('unsupported_token', 'encrypted tokens (JWE) are not accepted');
  }
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) {
    throw new Rejection('malformed', 'not a compact JWS');
  }
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new Rejection('malformed', 'the JWS header is not a JSON object');
  }
  for (const name of KEY_BEARING_HEADERS) {
    if (Object.hasOwn(header, name)) {
      throw new Rejection('forbidden_header', `the "${name}" header is not accepted`);
    }
  }
  // No extension is understood, so RFC 7515 §4.1.11 requires refusing any `crit`; `b64`
  // (RFC 7797) would change what the signature covers.
  if (Object.hasOwn(header, 'crit')) {
    throw new Rejection('forbidden_header', 'the "crit" header is not accepted');
  }
  if (Object.hasOwn(header, 'b64')) {
    throw new Rejection('forbidden_header', 'the "b64" header is not accepted');
  }
  // `cty` announces a nested JWT (RFC 7519 §5.2): the claims would be another token's, whose
  // issuer never signed for us. `zip` belongs to JWE; neither has a place in a workload token.
  for (const name of ['cty', 'zip'] as const) {
    if (Object.hasOwn(header, name)) {
      throw new Rejection('forbidden_header', `the "${name}" header is not accepted`);
    }
  }
  if (typeof header.alg !== 'string') throw new Rejection('malformed', 'no "alg" header');
  // Before any issuer is known: `none` and HMAC never verify a workload token (an HMAC
  // "signed" with a public key is forgeable by anyone who has that key).
  if (!ASYMMETRIC_ALGORITHMS.has(header.alg)) {
    throw new Rejection('algorithm_not_allowed', "the token's algorithm is not accepted");
  }
  if (parts[2] === '') throw new Rejection('bad_signature', 'the token carries no signature');
  let payload: JWTPayload;
  try {
    payload = decodeJwt(token);
  } catch {
    throw new Rejection('malformed', 'the JWT payload is not a JSON object');
  }
  return { header, payload };
}
