import {
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import type { BrokerAlgorithm, ResolvedGuardOptions } from './options.js';
import { TokenRefused } from './refusal.js';

/** A token larger than this is refused before it is decoded (the broker's own limit). */
export const MAX_TOKEN_BYTES = 16_384;

/** What the guard knows about a caller once its token verified. */
export interface VerifiedAccessToken {
  readonly claims: JWTPayload;
  readonly subject: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  /** The lease id at the broker (`jti`). */
  readonly leaseId: string;
  /** Seconds since the epoch. */
  readonly expiresAt: number;
}

export type AccessTokenVerifier = (token: string) => Promise<VerifiedAccessToken>;

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function headerAlgorithm(token: string): string {
  try {
    const alg = decodeProtectedHeader(token).alg;
    if (typeof alg === 'string') return alg;
  } catch {
    // falls through to the refusal
  }
  throw new TokenRefused('malformed', 'the token is not a signed JWT');
}

/** jose's typed errors, as the guard's closed set of reasons. */
function refusalOf(err: unknown): TokenRefused {
  if (err instanceof TokenRefused) return err;
  if (err instanceof errors.JWTExpired) return new TokenRefused('expired', 'the token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss')
      return new TokenRefused('wrong_issuer', 'the token has another issuer');
    if (err.claim === 'aud')
      return new TokenRefused('wrong_audience', 'the token is for another resource');
    if (err.claim === 'typ')
      return new TokenRefused('wrong_type', 'the token is not an access token');
    if (err.claim === 'nbf') return new TokenRefused('expired', 'the token is not valid yet');
    return new TokenRefused('malformed', `the token's "${err.claim}" claim is not acceptable`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return new TokenRefused(
      'algorithm_not_allowed',
      'the token is signed with an algorithm not allowed',
    );
  if (
    err instanceof errors.JWSSignatureVerificationFailed ||
    err instanceof errors.JWKSNoMatchingKey ||
    err instanceof errors.JWKSMultipleMatchingKeys
  )
    return new TokenRefused('bad_signature', 'the token signature does not verify');
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid)
    return new TokenRefused('introspection_unavailable', 'the broker keys could not be read');
  if (err instanceof errors.JOSEError)
    return new TokenRefused('malformed', 'the token is not valid');
  // A failed key fetch (network) is not the caller's fault, but no key means no access.
  return new TokenRefused('introspection_unavailable', 'the broker keys could not be read');
}

function scopesOf(claims: JWTPayload): string[] {
  const scope = claims.scope;
  if (typeof scope !== 'string') return [];
  return scope.split(' ').filter((s) => s !== '');
}

/**
 * Verifies a broker-signed access token for this resource (RFC 9068): the signature with a
 * key from the broker's JWKS, an allow-listed algorithm (checked on the header before any
 * key is looked up, and again by jose), `typ: at+jwt`, `iss` exactly the broker, `aud`
 * exactly this resource and nothing else, `exp` in the future, `sub` and `jti` present.
 */
export function accessTokenVerifier(options: ResolvedGuardOptions): AccessTokenVerifier {
  const jwks = createRemoteJWKSet(options.jwksUri, {
    [customFetch]: (url, init) => options.fetch(url, init),
    cooldownDuration: 30_000,
    cacheMaxAge: 600_000,
  });
  const allowed: ReadonlySet<string> = new Set<BrokerAlgorithm>(options.algorithms);
  const audience = options.resource.href;
  return async function verifyAccessToken(token) {
    try {
      if (token.length > MAX_TOKEN_BYTES || !JWT_SHAPE.test(token))
        throw new TokenRefused('malformed', 'the token is not a signed JWT');
      if (!allowed.has(headerAlgorithm(token)))
        throw new TokenRefused(
          'algorithm_not_allowed',
          'the token is signed with an algorithm not allowed',
        );
      const { payload } = await jwtVerify(token, jwks, {
        algorithms: [...options.algorithms],
        issuer: options.issuer,
        audience,
        typ: 'at+jwt',
        clockTolerance: options.clockToleranceSeconds,
        currentDate: new Date(options.now()),
        requiredClaims: ['exp', 'sub', 'jti'],
      });
      // RFC 8707 and the MCP spec: a token for several resources could be replayed at each.
      const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
      if (aud.length !== 1 || aud[0] !== audience)
        throw new TokenRefused('wrong_audience', 'the token is for another resource');
      const sub = payload.sub as string;
      const clientId = typeof payload.client_id === 'string' ? payload.client_id : sub;
      return {
        claims: payload,
        subject: sub,
        clientId,
        scopes: scopesOf(payload),
        leaseId: payload.jti as string,
        expiresAt: payload.exp as number,
      };
    } catch (err) {
      throw refusalOf(err);
    }
  };
}
