import { type CryptoKey, errors, type JWTPayload, type JWTVerifyOptions, jwtVerify } from 'jose';
import { rejectionFromJose } from './jose-errors.js';
import { Rejection } from './rejection.js';
import { sha256Hex } from './token-hash.js';
import { inspectToken } from './token-shape.js';
import type { TrustedIssuer } from './trusted-issuer.js';
import { AuthError, type VerifiedIdentity } from './types.js';

function verifyOptions(issuer: TrustedIssuer, now: number): JWTVerifyOptions {
  return {
    algorithms: [...issuer.algorithms],
    issuer: issuer.iss,
    audience: issuer.audience,
    // jose counts in whole seconds; config durations are milliseconds.
    clockTolerance: Math.floor(issuer.clockToleranceMs / 1000),
    ...(issuer.maxTokenAgeMs === undefined
      ? {}
      : { maxTokenAge: Math.floor(issuer.maxTokenAgeMs / 1000) }),
    requiredClaims: ['exp', 'sub', ...issuer.profile.requiredClaims],
    currentDate: new Date(now),
  };
}

/** Tries each candidate key; only a signature mismatch moves on to the next one. */
async function verifyWithAnyKey(
  token: string,
  keys: readonly CryptoKey[],
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  for (const key of keys) {
    try {
      return (await jwtVerify(token, key, options)).payload;
    } catch (err) {
      if (err instanceof errors.JWSSignatureVerificationFailed) continue;
      throw rejectionFromJose(err);
    }
  }
  throw new Rejection('bad_signature', 'the signature does not verify');
}

/** Checks jose leaves to the caller, and the profile's own. */
function checkClaims(claims: JWTPayload, issuer: TrustedIssuer, now: number): string {
  if (typeof claims.sub !== 'string' || claims.sub === '') {
    throw new Rejection('claim_invalid', 'the "sub" claim must be a non-empty string');
  }
  // jose only looks at a future `iat` when maxTokenAge is set; a token from the future is
  // suspect either way.
  if (typeof claims.iat === 'number' && claims.iat * 1000 > now + issuer.clockToleranceMs) {
    throw new Rejection('not_yet_valid', 'the "iat" claim is in the future');
  }
  const problem = issuer.profile.check(claims);
  if (problem !== undefined) throw new Rejection('claim_invalid', problem);
  return claims.sub;
}

/**
 * The verification every token goes through, workload or operator: shape, issuer chosen by
 * the exact `iss`, the issuer's algorithm allowlist and keys, then claims. Nothing from the
 * token is trusted before its signature is, except `iss`, which only selects whose rules
 * apply.
 */
export async function verifyJwt(
  token: string,
  issuers: ReadonlyMap<string, TrustedIssuer>,
  now: () => number,
): Promise<VerifiedIdentity> {
  const tokenHash = sha256Hex(token);
  let issuer: TrustedIssuer | undefined;
  try {
    const { header, payload } = inspectToken(token);
    issuer = typeof payload.iss === 'string' ? issuers.get(payload.iss) : undefined;
    if (issuer === undefined) {
      throw new Rejection('unknown_issuer', 'the token does not name a configured issuer');
    }
    if (!issuer.algorithms.includes(header.alg ?? '')) {
      throw new Rejection('algorithm_not_allowed', "the token's algorithm is not accepted");
    }
    const keys = await issuer.keys.candidates(header);
    const at = now();
    const claims = await verifyWithAnyKey(token, keys, verifyOptions(issuer, at));
    const subject = checkClaims(claims, issuer, at);
    return {
      issuer: issuer.name,
      iss: issuer.iss,
      subject,
      claims,
      tokenHash,
      expiresAt: (claims.exp ?? 0) * 1000,
    };
  } catch (err) {
    if (!(err instanceof Rejection)) throw err;
    throw new AuthError(err.reason, err.message, {
      tokenHash,
      ...(issuer === undefined ? {} : { issuer: issuer.name }),
    });
  }
}
