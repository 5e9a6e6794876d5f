import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import type { IssuerConfig } from '../../config/schema.js';

export type ProfileKind = IssuerConfig['profile'];

/** What a profile's checks may know about the issuer that verified the token. */
export interface ProfileContext {
  /** The configured `issuer` (for `spiffe`, `spiffe://<trust domain>`). */
  readonly iss: string;
}

/**
 * What one kind of workload token must look like beyond the checks every issuer shares
 * (`aud`, `exp`, `sub`, signature). Each profile names its own required claims so a token
 * minted for one purpose cannot pass as another.
 */
export interface IssuerProfile {
  readonly kind: ProfileKind;
  /** Claims that must be present, in addition to `aud`, `exp` and `sub`. */
  readonly requiredClaims: readonly string[];
  /** `false` only where tokens are not selected by `iss` (SPIFFE: by trust domain). */
  readonly checksIss: boolean;
  /** `aud` must hold exactly one value. */
  readonly singleAudience: boolean;
  /** Checks on the protected header before any key is looked up; returns why it fails. */
  checkHeader(header: ProtectedHeaderParameters): string | undefined;
  /** Checks on the verified claims; returns why they fail, or undefined. */
  check(claims: JWTPayload, context: ProfileContext): string | undefined;
}

export const anyHeader = (): undefined => undefined;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}
