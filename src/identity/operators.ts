import { decodeJwt } from 'jose';
import type { BreakGlassConfig, OperatorIssuerConfig, OperatorRole } from '../config/schema.js';
import { BREAK_GLASS_PREFIX, BreakGlassVerifier } from './break-glass.js';
import { type FailureLimit, FailureLimiter } from './failure-limiter.js';
import { oidcProfile } from './profiles/oidc.js';
import { isOperatorRole } from './roles.js';
import { MAX_TOKEN_BYTES } from './token-shape.js';
import { issuersByIss, type TrustedIssuer, trustIssuer } from './trusted-issuer.js';
import { AuthError, type OperatorPrincipal } from './types.js';
import { verifyJwt } from './verify-jwt.js';

export { generateBreakGlassToken } from './break-glass.js';
export { hasRole } from './roles.js';

export interface OperatorAuthenticatorOptions {
  fetch?: typeof fetch;
  /** Milliseconds since the epoch. */
  now?: () => number;
  breakGlassFailureLimit?: FailureLimit;
}

/** DESIGN "HTTP API": break-glass failures are rate limited per source. */
export const BREAK_GLASS_FAILURE_LIMIT: FailureLimit = {
  maxFailures: 10,
  windowMs: 60_000,
  maxSources: 10_000,
};

function rolesFrom(value: unknown): OperatorRole[] {
  const listed = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  return [...new Set(listed.filter(isOperatorRole))];
}

function audienceIncludes(aud: unknown, audience: string): boolean {
  return aud === audience || (Array.isArray(aud) && aud.includes(audience));
}

/**
 * Authenticates operators: JWTs from issuers under `operators` (verified by the same code
 * as workload tokens) and break-glass tokens. Operator issuers carry an audience distinct
 * from workload tokens, so neither kind of token passes as the other.
 */
export class OperatorAuthenticator {
  readonly #issuers: ReadonlyMap<string, TrustedIssuer>;
  readonly #rolesClaim: ReadonlyMap<string, string>;
  readonly #audiences: ReadonlyMap<string, string>;
  readonly #breakGlass: BreakGlassVerifier;
  readonly #now: () => number;

  constructor(
    config: {
      issuers: readonly OperatorIssuerConfig[];
      break_glass: readonly BreakGlassConfig[];
    },
    options: OperatorAuthenticatorOptions = {},
  ) {
    this.#now = options.now ?? (() => Date.now());
    const keyOptions = { fetch: options.fetch ?? globalThis.fetch, now: this.#now };
    this.#issuers = issuersByIss(
      config.issuers.map((issuer) => trustIssuer(issuer, oidcProfile, keyOptions)),
    );
    this.#rolesClaim = new Map(config.issuers.map((i) => [i.issuer, i.roles_claim]));
    this.#audiences = new Map(config.issuers.map((i) => [i.issuer, i.audience]));
    const limiter = new FailureLimiter(
      options.breakGlassFailureLimit ?? BREAK_GLASS_FAILURE_LIMIT,
      this.#now,
    );
    this.#breakGlass = new BreakGlassVerifier(config.break_glass, limiter, this.#now);
  }

  /**
   * Routing only, never authorisation: reads the payload unverified to decide whether the
   * operator path or the workload path should verify this token.
   */
  isOperatorToken(token: string): boolean {
    if (token.startsWith(BREAK_GLASS_PREFIX)) return true;
    if (token.length > MAX_TOKEN_BYTES || token.split('.').length !== 3) return false;
    try {
      const { iss, aud } = decodeJwt(token);
      const audience = typeof iss === 'string' ? this.#audiences.get(iss) : undefined;
      return audience !== undefined && audienceIncludes(aud, audience);
    } catch {
      return false;
    }
  }

  /** `source` (the client address) keys the break-glass failure limit. */
  async authenticate(token: string, source = 'unknown'): Promise<OperatorPrincipal> {
    if (token.startsWith(BREAK_GLASS_PREFIX)) return this.#breakGlass.verify(token, source);
    const identity = await verifyJwt(token, this.#issuers, this.#now);
    const claim = this.#rolesClaim.get(identity.iss) ?? 'roles';
    const roles = rolesFrom(Object.hasOwn(identity.claims, claim) ? identity.claims[claim] : []);
    if (roles.length === 0) {
      throw new AuthError('no_role', 'the operator token grants no operator role', {
        tokenHash: identity.tokenHash,
        issuer: identity.issuer,
        subject: identity.subject,
      });
    }
    return {
      kind: 'operator',
      name: identity.subject,
      roles,
      via: 'jwt',
      expiresAt: identity.expiresAt,
      issuer: identity.issuer,
      tokenHash: identity.tokenHash,
    };
  }
}
