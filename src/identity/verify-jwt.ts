import { type CryptoKey, errors, type JWTPayload, type JWTVerifyOptions, jwtVerify } from 'jose';
import { rejectionFromJose } from './jose-errors.js';
import { Rejection } from './rejection.js';
import { parseSpiffeId } from './spiffe-id.js';
import { sha256Hex } from './token-hash.js';
import { inspectToken, type UnverifiedToken } from './token-shape.js';
import type { TrustedIssuer } from './trusted-issuer.js';
import { AuthError, type VerifiedIdentity } from './types.js';

const MAX_JTI_CHARS = 256;

function verifyOptions(issuer: TrustedIssuer, now: number): JWTVerifyOptions {
  return {
    algorithms: [...issuer.algorithms],
    ...(issuer.profile.checksIss ? { issuer: issuer.iss } : {}),
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

/**
 * Whose rules apply. The exact `iss` picks an issuer; a token naming none of them may still
 * be a JWT-SVID, whose keys are chosen by the trust domain of its `sub` (the spec does not
 * require `iss`), and then only a `spiffe` issuer of that trust domain is considered.
 */
export function selectIssuer(
  payload: JWTPayload,
  issuers: ReadonlyMap<string, TrustedIssuer>,
): TrustedIssuer | undefined {
  if (typeof payload.iss === 'string') {
    const named = issuers.get(payload.iss);
    if (named !== undefined) return named;
  }
  if (typeof payload.sub !== 'string') return undefined;
  const id = parseSpiffeId(payload.sub);
  if (typeof id === 'string') return undefined;
  const bundle = issuers.get(`spiffe://${id.trustDomain}`);
  return bundle?.profile.kind === 'spiffe' ? bundle : undefined;
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
  if (issuer.profile.singleAudience && Array.isArray(claims.aud) && claims.aud.length !== 1) {
    throw new Rejection('audience_mismatch', 'the token must name exactly one audience');
  }
  if (
    issuer.oneTimeJti &&
    (typeof claims.jti !== 'string' || claims.jti === '' || claims.jti.length > MAX_JTI_CHARS)
  ) {
    throw new Rejection('claim_invalid', 'the "jti" claim must be a string of 1-256 characters');
  }
  const problem = issuer.profile.check(claims, { iss: issuer.iss });
  if (problem !== undefined) throw new Rejection('claim_invalid', problem);
  return claims.sub;
}

export interface VerifiedToken {
  readonly identity: VerifiedIdentity;
  readonly issuer: TrustedIssuer;
  /** Generation of the issuer's key set the signature was checked against. */
  readonly keyGeneration: number;
}

/**
 * What a caller already computed from the very token it passes (its SHA-256, its
 * `inspectToken` result), so a token is hashed and decoded once per request.
 */
export interface KnownOfToken {
  tokenHash: string;
  shape?: UnverifiedToken;
}

/**
 * The verification every token goes through, workload or operator: shape, issuer chosen by
 * the exact `iss` (or a SPIFFE trust domain), the issuer's header rules, algorithm
 * allowlist and keys, then claims. Nothing from the token is trusted before its signature
 * is, except what selects whose rules apply.
 */
export async function verifyToken(
  token: string,
  issuers: ReadonlyMap<string, TrustedIssuer>,
  now: () => number,
  known?: KnownOfToken,
): Promise<VerifiedToken> {
  const tokenHash = known?.tokenHash ?? sha256Hex(token);
  let issuer: TrustedIssuer | undefined;
  try {
    const { header, payload } = known?.shape ?? inspectToken(token);
    issuer = selectIssuer(payload, issuers);
    if (issuer === undefined) {
      throw new Rejection('unknown_issuer', 'the token does not name a configured issuer');
    }
    const headerProblem = issuer.profile.checkHeader(header);
    if (headerProblem !== undefined) throw new Rejection('forbidden_header', headerProblem);
    if (!issuer.algorithms.includes(header.alg ?? '')) {
      throw new Rejection('algorithm_not_allowed', "the token's algorithm is not accepted");
    }
    const keyGeneration = await issuer.keys.current();
    const keys = await issuer.keys.candidates(header);
    const at = now();
    const claims = await verifyWithAnyKey(token, keys, verifyOptions(issuer, at));
    const subject = checkClaims(claims, issuer, at);
    const identity: VerifiedIdentity = {
      issuer: issuer.name,
      iss: issuer.iss,
      subject,
      claims,
      tokenHash,
      expiresAt: (claims.exp ?? 0) * 1000,
    };
    return { identity, issuer, keyGeneration };
  } catch (err) {
    if (!(err instanceof Rejection)) throw err;
    throw new AuthError(err.reason, err.message, {
      tokenHash,
      ...(issuer === undefined ? {} : { issuer: issuer.name }),
    });
  }
}

/** `verifyToken` for callers that need only the identity (operator tokens). */
export async function verifyJwt(
  token: string,
  issuers: ReadonlyMap<string, TrustedIssuer>,
  now: () => number,
): Promise<VerifiedIdentity> {
  return (await verifyToken(token, issuers, now)).identity;
}
