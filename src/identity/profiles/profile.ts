import type { JWTPayload } from 'jose';

/**
 * What one kind of workload token must look like beyond the checks every issuer shares
 * (`iss`, `aud`, `exp`, `sub`, signature). Each profile names its own required claims so a
 * token minted for one purpose cannot pass as another.
 */
export interface IssuerProfile {
  /** Claims that must be present, in addition to `iss`, `aud`, `exp` and `sub`. */
  readonly requiredClaims: readonly string[];
  /** Checks on the verified claims; returns why they fail, or undefined. */
  check(claims: JWTPayload): string | undefined;
}
