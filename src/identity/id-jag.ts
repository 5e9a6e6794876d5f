import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import type { EnterpriseIdpConfig } from '../config/schema.js';
import type { FetchLike } from './fetch-json.js';
import { type IssuerProfile, nonEmptyString } from './profiles/profile.js';
import type { ReplayGuard } from './replay-guard.js';
import { inspectToken } from './token-shape.js';
import { issuersByIss, type TrustedIssuer, trustIssuer } from './trusted-issuer.js';
import { AuthError, type VerifiedIdentity } from './types.js';
import { verifyToken } from './verify-jwt.js';

/** The JWT `typ` of an Identity Assertion JWT Authorization Grant (RFC 8725 §3.11). */
export const ID_JAG_TYPE = 'oauth-id-jag+jwt';

/** Whether a header names the ID-JAG type; RFC 7515 §4.1.9 lets `application/` be left off. */
export function isIdJagHeader(header: ProtectedHeaderParameters): boolean {
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : '';
  return typ === ID_JAG_TYPE || typ === `application/${ID_JAG_TYPE}`;
}

/** Whether an unverified token says it is an ID-JAG; nothing else is read from it. */
export function isIdJagToken(token: string): boolean {
  try {
    return isIdJagHeader(inspectToken(token).header);
  } catch {
    return false;
  }
}

/**
 * The claims the ID-JAG draft makes mandatory besides `iss`, `sub`, `aud` and `exp`:
 * `client_id` names the client the grant is for, `jti` makes it one-time, `resource` names
 * what it is for; `iat` bounds its age.
 */
const ID_JAG_PROFILE: IssuerProfile = {
  kind: 'oidc',
  requiredClaims: ['iat', 'jti', 'client_id', 'resource'],
  checksIss: true,
  singleAudience: true,
  checkHeader: (header) =>
    isIdJagHeader(header) ? undefined : `the "typ" header must be ${ID_JAG_TYPE}`,
  check: (claims: JWTPayload) => {
    if (!nonEmptyString(claims.client_id)) return 'the "client_id" claim must be a string';
    if (!nonEmptyString(claims.resource)) return 'the "resource" claim must be one string';
    if (claims.scope !== undefined && typeof claims.scope !== 'string') {
      return 'the "scope" claim must be a space-separated string';
    }
    return undefined;
  },
};

/** A grant that passed every check: the user it vouches for and what it allows. */
export interface VerifiedIdJag {
  /** The enterprise user (`sub`) and the IdP that vouched for them. */
  readonly user: VerifiedIdentity;
  readonly resource: string;
  /** The `scope` claim's tokens; undefined when the grant names none. */
  readonly scopes: readonly string[] | undefined;
}

export interface IdJagVerifierOptions {
  readonly fetch?: FetchLike;
  readonly now?: () => number;
  readonly replayGuard?: ReplayGuard;
}

/**
 * Verifies ID-JAGs from the configured enterprise IdPs with the same checks as every other
 * token (`verifyToken`: size, allowlisted algorithm, keys chosen by `iss`, no header-borne
 * keys), plus the draft's: the `typ`, `aud` exactly the broker's issuer, `client_id` the
 * authenticated client, and a `jti` seen once across replicas until the grant expires.
 */
export class IdJagVerifier {
  readonly #idps: ReadonlyMap<string, TrustedIssuer>;
  readonly #now: () => number;
  readonly #replayGuard: ReplayGuard | undefined;

  constructor(
    idps: readonly EnterpriseIdpConfig[],
    brokerIssuer: string,
    options: IdJagVerifierOptions = {},
  ) {
    this.#now = options.now ?? (() => Date.now());
    const keyOptions = { fetch: options.fetch ?? globalThis.fetch, now: this.#now };
    this.#idps = issuersByIss(
      idps.map((idp) =>
        trustIssuer(
          { ...idp, audience: brokerIssuer, one_time_jti: true },
          ID_JAG_PROFILE,
          keyOptions,
        ),
      ),
    );
    if (idps.length > 0 && options.replayGuard === undefined) {
      throw new TypeError('enterprise_idps: ID-JAG redemption needs a replay guard (Redis)');
    }
    this.#replayGuard = options.replayGuard;
  }

  get configured(): boolean {
    return this.#idps.size > 0;
  }

  /** Throws AuthError (reason and token hash, never the token) on any refusal. */
  async verify(token: string, clientId: string): Promise<VerifiedIdJag> {
    const { identity, issuer } = await verifyToken(token, this.#idps, this.#now);
    const details = {
      tokenHash: identity.tokenHash,
      issuer: identity.issuer,
      subject: identity.subject,
    };
    if (identity.claims.client_id !== clientId) {
      throw new AuthError('client_mismatch', 'the grant was issued for another client', details);
    }
    const jti = identity.claims.jti as string;
    // Remembered while the grant could still pass: past `exp`, or past `iat` + the IdP's
    // `max_token_age`, it is refused anyway, so a far `exp` costs no cache space.
    const iat = identity.claims.iat as number;
    const until =
      Math.min(
        identity.expiresAt,
        iat * 1000 + (issuer.maxTokenAgeMs ?? Number.POSITIVE_INFINITY),
      ) + issuer.clockToleranceMs;
    if (!(await this.#replayGuard?.claimOnce(identity.iss, jti, until))) {
      throw new AuthError('replayed', 'the grant was already redeemed', details);
    }
    const scope = identity.claims.scope;
    return {
      user: identity,
      resource: identity.claims.resource as string,
      scopes:
        typeof scope === 'string' ? scope.split(' ').filter((token) => token !== '') : undefined,
    };
  }
}
