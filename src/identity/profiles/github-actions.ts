import type { JWTPayload } from 'jose';
import { anyHeader, type IssuerProfile, nonEmptyString } from './profile.js';

const NUMERIC_ID = /^[0-9]{1,20}$/;
const REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/** Claims every Actions token carries; `repository_id` and `repository_owner_id` survive renames. */
const REQUIRED = [
  'iat',
  'jti',
  'repository',
  'repository_id',
  'repository_owner',
  'repository_owner_id',
  'run_id',
  'workflow_ref',
  'job_workflow_ref',
  'event_name',
] as const;

/**
 * GitHub Actions OIDC tokens (github.com and GitHub Enterprise issuers). The ids are numeric
 * strings; the repository must belong to the owner the token names, and the workflow refs
 * must be `path@ref`, so a token from another OIDC issuer sharing the keys cannot pose as one.
 */
function check(claims: JWTPayload): string | undefined {
  for (const name of REQUIRED) {
    if (name === 'iat') continue;
    if (!nonEmptyString(claims[name])) return `the "${name}" claim must be a non-empty string`;
  }
  for (const name of ['repository_id', 'repository_owner_id', 'run_id'] as const) {
    if (!NUMERIC_ID.test(claims[name] as string)) return `the "${name}" claim is not a numeric id`;
  }
  const repository = claims.repository as string;
  if (!REPOSITORY.test(repository)) return 'the "repository" claim is not owner/name';
  if (!repository.toLowerCase().startsWith(`${String(claims.repository_owner).toLowerCase()}/`)) {
    return 'the repository does not belong to the "repository_owner"';
  }
  for (const name of ['workflow_ref', 'job_workflow_ref'] as const) {
    if (!(claims[name] as string).includes('@')) return `the "${name}" claim is not path@ref`;
  }
  return undefined;
}

export const githubActionsProfile: IssuerProfile = {
  kind: 'github-actions',
  requiredClaims: REQUIRED,
  checksIss: true,
  singleAudience: false,
  checkHeader: anyHeader,
  check,
};
