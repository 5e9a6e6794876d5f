import { JWS_ALGORITHMS } from '../config/schema.js';
import type { KeySource } from './key-set.js';
import { type KeySourceOptions, type KeySourceSettings, keySourceFor } from './key-source.js';
import type { IssuerProfile } from './profiles/index.js';
import { trustDomainOf } from './spiffe-id.js';
import { TokenReviewer, type TokenReviewSettings } from './token-review.js';

/** Fields shared by workload issuers and operator issuers in the config. */
export interface IssuerSettings extends KeySourceSettings {
  readonly name: string;
  readonly audience: string;
  readonly algorithms: readonly string[];
  /** Milliseconds. */
  readonly clock_tolerance: number;
  /** Milliseconds; operator issuers have none. */
  readonly max_token_age?: number | undefined;
  readonly one_time_jti?: boolean | undefined;
  readonly token_review?: TokenReviewSettings | undefined;
}

/** One configured issuer, ready to verify: the rules its tokens must meet and its keys. */
export interface TrustedIssuer {
  readonly name: string;
  /** The `iss` tokens carry; for SPIFFE, `spiffe://<trust domain>` (selected by `sub`). */
  readonly iss: string;
  readonly audience: string;
  readonly algorithms: readonly string[];
  readonly clockToleranceMs: number;
  readonly maxTokenAgeMs: number | undefined;
  readonly profile: IssuerProfile;
  readonly keys: KeySource;
  /** Each `jti` is accepted once, across replicas. */
  readonly oneTimeJti: boolean;
  readonly tokenReview: TokenReviewer | undefined;
}

const MAX_CLOCK_TOLERANCE_MS = 60_000;
const ALLOWED: ReadonlySet<string> = new Set(JWS_ALGORITHMS);

/** Throws TypeError on settings the schema should have refused, so a bad config fails at start. */
export function trustIssuer(
  settings: IssuerSettings,
  profile: IssuerProfile,
  options: KeySourceOptions,
): TrustedIssuer {
  const refused = settings.algorithms.filter((alg) => !ALLOWED.has(alg));
  if (settings.algorithms.length === 0 || refused.length > 0) {
    throw new TypeError(`issuer ${settings.name}: algorithms not allowed: ${refused.join(', ')}`);
  }
  if (settings.clock_tolerance < 0 || settings.clock_tolerance > MAX_CLOCK_TOLERANCE_MS) {
    throw new TypeError(`issuer ${settings.name}: clock_tolerance must be within 0..60s`);
  }
  if (profile.kind === 'spiffe') trustDomainOf(settings.issuer);
  if (settings.token_review !== undefined && profile.kind !== 'kubernetes') {
    throw new TypeError(`issuer ${settings.name}: token_review is for kubernetes issuers`);
  }
  return {
    name: settings.name,
    iss: settings.issuer,
    audience: settings.audience,
    algorithms: [...settings.algorithms],
    clockToleranceMs: settings.clock_tolerance,
    maxTokenAgeMs: settings.max_token_age,
    profile,
    keys: keySourceFor({ ...settings, profile: profile.kind }, options),
    oneTimeJti: settings.one_time_jti === true,
    tokenReview:
      settings.token_review === undefined
        ? undefined
        : new TokenReviewer(settings.token_review, {
            audience: settings.audience,
            allowInsecureLoopback: settings.allow_insecure_loopback,
            fetch: options.fetch,
            now: options.now,
          }),
  };
}

/** Indexes issuers by `iss`; two issuers with one `iss` would make key selection ambiguous. */
export function issuersByIss(
  issuers: readonly TrustedIssuer[],
): ReadonlyMap<string, TrustedIssuer> {
  const byIss = new Map<string, TrustedIssuer>();
  for (const issuer of issuers) {
    if (byIss.has(issuer.iss)) throw new TypeError(`two issuers share iss ${issuer.iss}`);
    byIss.set(issuer.iss, issuer);
  }
  return byIss;
}
