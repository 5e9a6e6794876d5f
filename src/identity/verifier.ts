import type { IssuerConfig, WorkloadConfig } from '../config/schema.js';
import { ExpiringCache } from './expiring-cache.js';
import type { FetchLike } from './fetch-json.js';
import { isIdJagHeader } from './id-jag.js';
import { profileFor } from './profiles/index.js';
import { Rejection } from './rejection.js';
import type { RemoteKeyTiming } from './remote-key-source.js';
import type { ReplayGuard } from './replay-guard.js';
import { sha256Hex } from './token-hash.js';
import { inspectToken, MAX_TOKEN_BYTES, type UnverifiedToken } from './token-shape.js';
import { issuersByIss, type TrustedIssuer, trustIssuer } from './trusted-issuer.js';
import { AuthError, type VerifiedIdentity, type WorkloadPrincipal } from './types.js';
import { type KnownOfToken, verifyToken } from './verify-jwt.js';
import { WorkloadMapping } from './workloads.js';

export interface IdentityVerifierOptions {
  fetch?: FetchLike;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** Required when an issuer sets `one_time_jti`; shared by replicas in production (Redis). */
  replayGuard?: ReplayGuard;
  /** Verified principals kept for reuse; 0 turns the cache off. */
  principalCacheSize?: number;
  timing?: RemoteKeyTiming;
  /**
   * Runs on every verified token, cached or not, after the issuer's checks: refuses (with a
   * Rejection) a token that verified but is no longer live, such as one of the broker's own
   * whose lease was revoked.
   */
  liveness?: (token: string, identity: VerifiedIdentity) => Promise<void>;
}

export const DEFAULT_PRINCIPAL_CACHE_SIZE = 10_000;

interface CachedPrincipal {
  readonly identity: VerifiedIdentity;
  readonly issuer: TrustedIssuer;
  readonly keyGeneration: number;
}

/**
 * Authenticates workloads. Built from config once (and again on reload, which is what
 * empties its principal cache); construction throws TypeError for issuers it cannot verify
 * safely (bad URL, unreadable key file, one-time `jti` without a replay guard), so a bad
 * config stops the start instead of failing per request.
 */
export class IdentityVerifier {
  readonly #issuers: ReadonlyMap<string, TrustedIssuer>;
  readonly #workloads: WorkloadMapping;
  readonly #now: () => number;
  readonly #replayGuard: ReplayGuard | undefined;
  readonly #principals: ExpiringCache<CachedPrincipal>;
  readonly #liveness: IdentityVerifierOptions['liveness'];

  constructor(
    issuers: readonly IssuerConfig[],
    workloads: readonly WorkloadConfig[],
    options: IdentityVerifierOptions = {},
  ) {
    this.#now = options.now ?? (() => Date.now());
    const keyOptions = {
      fetch: options.fetch ?? globalThis.fetch,
      now: this.#now,
      ...(options.timing === undefined ? {} : { timing: options.timing }),
    };
    this.#issuers = issuersByIss(
      issuers.map((issuer) => trustIssuer(issuer, profileFor(issuer.profile), keyOptions)),
    );
    this.#replayGuard = options.replayGuard;
    this.#liveness = options.liveness;
    const unguarded = issuers.find((issuer) => issuer.one_time_jti);
    if (unguarded !== undefined && this.#replayGuard === undefined) {
      throw new TypeError(`issuer ${unguarded.name}: one_time_jti needs a replay guard (Redis)`);
    }
    this.#principals = new ExpiringCache(
      options.principalCacheSize ?? DEFAULT_PRINCIPAL_CACHE_SIZE,
    );
    this.#workloads = new WorkloadMapping(workloads);
  }

  /**
   * Verifies a workload token against its issuer's rules; says nothing about workloads.
   * A token seen before is taken from the principal cache (no signature check) only while
   * its issuer's keys are unchanged and usable; the one-time `jti`, TokenReview and liveness
   * checks run on every call, cached or not.
   */
  async verify(token: string): Promise<VerifiedIdentity> {
    const tokenHash = sha256Hex(token);
    const now = this.#now();
    // A cached principal's token passed the ID-JAG check below before it was cached.
    const cached =
      token.length > MAX_TOKEN_BYTES ? undefined : this.#principals.get(tokenHash, now);
    const verified =
      cached !== undefined && (await this.#keysUnchanged(cached))
        ? cached
        : await verifyToken(token, this.#issuers, this.#now, this.#notIdJag(token, tokenHash));
    await this.#confirm(token, verified);
    if (verified !== cached) this.#principals.set(tokenHash, verified, reuseUntil(verified), now);
    return verified.identity;
  }

  /**
   * An ID-JAG is a grant, redeemed once at the token endpoint by the client it names: taken
   * as an identity here it would skip both, whichever issuer might vouch for its signature.
   * The token's decoded shape is handed on, so it is decoded once; a token that does not
   * decode is left for `verifyToken` to refuse with its reason.
   */
  #notIdJag(token: string, tokenHash: string): KnownOfToken {
    let shape: UnverifiedToken;
    try {
      shape = inspectToken(token);
    } catch {
      return { tokenHash };
    }
    if (isIdJagHeader(shape.header)) {
      throw new AuthError('forbidden_header', 'an identity assertion grant is not an identity', {
        tokenHash,
      });
    }
    return { tokenHash, shape };
  }

  async authenticateWorkload(token: string): Promise<WorkloadPrincipal> {
    const identity = await this.verify(token);
    const workload = this.#workloads.match(identity);
    if (workload === undefined) {
      throw new AuthError('no_workload', 'the identity maps to no configured workload', {
        tokenHash: identity.tokenHash,
        issuer: identity.issuer,
        subject: identity.subject,
      });
    }
    return { kind: 'workload', workload, identity };
  }

  /** Also the freshness check: keys past their maximum age refuse cached principals too. */
  async #keysUnchanged(cached: CachedPrincipal): Promise<boolean> {
    try {
      return (await cached.issuer.keys.current()) === cached.keyGeneration;
    } catch (err) {
      if (err instanceof Rejection) throw this.#refusal(err, cached.identity);
      throw err;
    }
  }

  async #confirm(token: string, { identity, issuer }: CachedPrincipal): Promise<void> {
    try {
      if (issuer.oneTimeJti) {
        const jti = identity.claims.jti as string;
        const until = identity.expiresAt + issuer.clockToleranceMs;
        if (!(await this.#replayGuard?.claimOnce(identity.iss, jti, until))) {
          throw new Rejection('replayed', 'the token was already used once');
        }
      }
      await issuer.tokenReview?.confirm(token, identity.tokenHash, identity.subject);
      await this.#liveness?.(token, identity);
    } catch (err) {
      if (err instanceof Rejection) throw this.#refusal(err, identity);
      throw err;
    }
  }

  #refusal(err: Rejection, identity: VerifiedIdentity): AuthError {
    return new AuthError(err.reason, err.message, {
      tokenHash: identity.tokenHash,
      issuer: identity.issuer,
      subject: identity.subject,
    });
  }
}

/** Until `exp`, and never past the issuer's `max_token_age`. */
function reuseUntil({ identity, issuer }: CachedPrincipal): number {
  const iat = identity.claims.iat;
  if (issuer.maxTokenAgeMs === undefined || typeof iat !== 'number') return identity.expiresAt;
  return Math.min(identity.expiresAt, iat * 1000 + issuer.maxTokenAgeMs);
}
