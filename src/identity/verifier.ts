import type { IssuerConfig, WorkloadConfig } from '../config/schema.js';
import { profileFor } from './profiles/index.js';
import { issuersByIss, type TrustedIssuer, trustIssuer } from './trusted-issuer.js';
import { AuthError, type VerifiedIdentity, type WorkloadPrincipal } from './types.js';
import { verifyJwt } from './verify-jwt.js';
import { WorkloadMapping } from './workloads.js';

export interface IdentityVerifierOptions {
  fetch?: typeof fetch;
  /** Milliseconds since the epoch. */
  now?: () => number;
}

/**
 * Authenticates workloads. Built from config once (and again on reload); construction
 * throws TypeError for issuers it cannot verify safely (unsupported profile, bad URL,
 * unreadable JWKS file), so a bad config stops the start instead of failing per request.
 */
export class IdentityVerifier {
  readonly #issuers: ReadonlyMap<string, TrustedIssuer>;
  readonly #workloads: WorkloadMapping;
  readonly #now: () => number;

  constructor(
    issuers: readonly IssuerConfig[],
    workloads: readonly WorkloadConfig[],
    options: IdentityVerifierOptions = {},
  ) {
    this.#now = options.now ?? (() => Date.now());
    const keyOptions = { fetch: options.fetch ?? globalThis.fetch, now: this.#now };
    this.#issuers = issuersByIss(
      issuers.map((issuer) => trustIssuer(issuer, profileFor(issuer.profile), keyOptions)),
    );
    this.#workloads = new WorkloadMapping(workloads);
  }

  /** Verifies a workload token against its issuer's rules; says nothing about workloads. */
  verify(token: string): Promise<VerifiedIdentity> {
    return verifyJwt(token, this.#issuers, this.#now);
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
}
