import { z } from 'zod';
import type { Check } from '../provider.js';
import { type AccessLevel, type CatalogueAction, expandActionPattern } from './lib/catalogue.js';
import { iamGlob, patternCovers } from './lib/iam-glob.js';
import { sessionPolicyText } from './lib/session-policy.js';

/** AWS: a session policy's plain text is at most 2,048 characters. */
export const SESSION_POLICY_MAX_CHARS = 2_048;
export const MAX_SCOPE_ACTIONS = 64;
export const MAX_SCOPE_RESOURCES = 32;

/** `service:Action`, the action part possibly with `*`/`?`; the service part always literal. */
const ACTION_PATTERN = /^[a-z0-9-]{1,64}:[A-Za-z0-9*?]{1,128}$/;
/**
 * An ARN (pattern) or `*`: printable ASCII without spaces, quotes or `$`. A policy variable
 * (`${aws:PrincipalTag/…}`) is substituted by AWS at evaluation time, so no check made
 * beforehand could bound what it matches.
 */
const RESOURCE_PATTERN = /^(?:\*|arn:[\x21\x23\x25-\x7e]{3,1024})$/;
const CONDITION_OPERATOR =
  /^(?:(?:ForAllValues:|ForAnyValue:)?(?:String(?:Not)?Equals(?:IgnoreCase)?|String(?:Not)?Like|Numeric(?:Not)?Equals|Numeric(?:LessThan|GreaterThan)(?:Equals)?|Date(?:Not)?Equals|Date(?:LessThan|GreaterThan)(?:Equals)?|Bool|BinaryEquals|(?:Not)?IpAddress|Arn(?:Not)?(?:Equals|Like))(?:IfExists)?|Null)$/;
const CONDITION_KEY = /^[A-Za-z0-9-]{1,64}:[A-Za-z0-9_./:@-]{1,128}$/;
const CONDITION_VALUE = z.string().min(1).max(256);

/**
 * Actions that mint credentials of their own: an IAM user's access key, console password,
 * service or SSH key, or an identity pool's credentials. Like a chained STS session, they
 * would outlive the session policy's time limit and every Deny entry on the role.
 */
const CREDENTIAL_ACTIONS: ReadonlySet<string> = new Set(
  [
    'iam:CreateAccessKey',
    'iam:UpdateAccessKey',
    'iam:CreateLoginProfile',
    'iam:UpdateLoginProfile',
    'iam:CreateServiceSpecificCredential',
    'iam:ResetServiceSpecificCredential',
    'iam:UpdateServiceSpecificCredential',
    'iam:UploadSSHPublicKey',
    'iam:UpdateSSHPublicKey',
    'iam:UploadSigningCertificate',
    'iam:UpdateSigningCertificate',
    'cognito-identity:GetCredentialsForIdentity',
    'cognito-identity:GetOpenIdToken',
    'cognito-identity:GetOpenIdTokenForDeveloperIdentity',
  ].map((name) => name.toLowerCase()),
);

const refused = (what: string) =>
  z
    .never({ error: `${what} is refused: ask for the exact actions and resources you need` })
    .optional();

const actionPattern = z
  .string()
  .regex(ACTION_PATTERN, 'service:Action, wildcards only in the action part (s3:Get*)');
const resourcePattern = z
  .string()
  .regex(RESOURCE_PATTERN, 'an ARN or ARN pattern (arn:aws:s3:::bucket/*), or *');

/**
 * Condition keys the request wants pinned on its session, in IAM's own shape
 * (`{ "StringEquals": { "s3:prefix": ["reports/"] } }`). A condition only narrows an Allow,
 * so any is within any ceiling; `aws:CurrentTime` is the broker's and cannot be given.
 */
const conditions = z
  .record(
    z.string().regex(CONDITION_OPERATOR, 'an IAM condition operator'),
    z.record(
      z
        .string()
        .regex(CONDITION_KEY, 'a condition key (prefix:name)')
        .refine(
          (key) => key.toLowerCase() !== 'aws:currenttime',
          'aws:CurrentTime is set by the broker to the lease expiry',
        ),
      z.union([CONDITION_VALUE, z.array(CONDITION_VALUE).min(1).max(32)]),
    ),
  )
  .refine((value) => Object.keys(value).length <= 8, 'at most 8 condition operators');

export const awsScopeSchema = z
  .object({
    actions: z.array(actionPattern).min(1).max(MAX_SCOPE_ACTIONS),
    resources: z.array(resourcePattern).min(1).max(MAX_SCOPE_RESOURCES),
    conditions: conditions.exactOptional(),
    NotAction: refused('NotAction'),
    not_actions: refused('NotAction'),
    NotResource: refused('NotResource'),
    not_resources: refused('NotResource'),
  })
  .strict()
  .superRefine((scope, ctx) => {
    for (const [i, pattern] of scope.actions.entries()) {
      // A session that may assume a role holds credentials this lease cannot revoke.
      if (pattern.startsWith('sts:')) {
        ctx.addIssue({
          code: 'custom',
          path: ['actions', i],
          message: 'STS actions are refused: a chained session would outlive its revocation',
        });
        continue;
      }
      const matched = expandActionPattern(pattern);
      if (matched === null || matched.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['actions', i],
          message: `matches no action in AWS's action catalogue`,
        });
        continue;
      }
      const minting = matched.find((action) => CREDENTIAL_ACTIONS.has(action.name.toLowerCase()));
      if (minting !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['actions', i],
          message: `${minting.name} is refused: it mints credentials that would outlive the lease's revocation`,
        });
      }
    }
  })
  .superRefine((scope, ctx) => {
    const actions = expandScope(scope.actions);
    if (actions.length === 0) return;
    // The size is known before any call: the expiry is always a 24-character ISO timestamp.
    const size = sessionPolicyText(scope, actions, new Date(0)).length;
    if (size > SESSION_POLICY_MAX_CHARS) {
      ctx.addIssue({
        code: 'custom',
        path: ['actions'],
        message: `the session policy would be ${size} characters, AWS allows ${SESSION_POLICY_MAX_CHARS}: ask for fewer actions or resources`,
      });
    }
  });
export type AwsScope = z.infer<typeof awsScopeSchema>;

export const awsCeilingSchema = z
  .object({
    actions: z
      .array(z.string().regex(ACTION_PATTERN, 'service:Action, wildcards only in the action part'))
      .min(1)
      .max(256),
    resources: z.array(resourcePattern).min(1).max(256),
    NotAction: refused('NotAction'),
    not_actions: refused('NotAction'),
    NotResource: refused('NotResource'),
    not_resources: refused('NotResource'),
  })
  .strict();
export type AwsCeiling = z.infer<typeof awsCeilingSchema>;

/**
 * Every catalogue action the scope's patterns name, deduplicated, in catalogue spelling. The
 * session policy lists these, never the patterns: an action AWS adds later is not granted
 * by a wildcard that was checked before it existed.
 */
export function expandScope(patterns: readonly string[]): CatalogueAction[] {
  const byName = new Map<string, CatalogueAction>();
  for (const pattern of patterns) {
    for (const action of expandActionPattern(pattern) ?? []) byName.set(action.name, action);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** `scope ⊆ ceiling`: every expanded action in a ceiling pattern, every resource covered. */
export function awsWithin(scope: AwsScope, ceiling: AwsCeiling): Check {
  const allowed = ceiling.actions.map((pattern) => iamGlob(pattern.toLowerCase()));
  for (const pattern of scope.actions) {
    const actions = expandActionPattern(pattern);
    if (actions === null || actions.length === 0) {
      return { ok: false, reason: `action ${pattern} matches no known action` };
    }
    const outside = actions.find(
      (action) => !allowed.some((glob) => glob.test(action.name.toLowerCase())),
    );
    if (outside !== undefined) {
      const via = outside.name === pattern ? '' : ` (from ${pattern})`;
      return { ok: false, reason: `action ${outside.name}${via} is outside the ceiling` };
    }
  }
  for (const resource of scope.resources) {
    if (!ceiling.resources.some((outer) => patternCovers(outer, resource))) {
      return { ok: false, reason: `resource ${resource} is broader than or outside the ceiling` };
    }
  }
  return { ok: true };
}

const TIER_LEVELS: Record<'read' | 'write' | 'admin', ReadonlySet<AccessLevel>> = {
  read: new Set(['List', 'Read']),
  write: new Set(['List', 'Read', 'Write', 'Tagging']),
  admin: new Set(['List', 'Read', 'Write', 'Tagging', 'Permissions management']),
};

/**
 * The tier cap by each action's access level in AWS's catalogue: `read` holds List and Read
 * actions only, `write` adds Write and Tagging, only `admin` holds Permissions management.
 */
export function awsTierAllows(scope: AwsScope, tier: 'read' | 'write' | 'admin'): Check {
  const levels = TIER_LEVELS[tier];
  for (const action of expandScope(scope.actions)) {
    const above = action.levels.find((level) => !levels.has(level));
    if (above !== undefined) {
      return {
        ok: false,
        reason: `action ${action.name} is a ${above} action; workload tier ${tier} may not hold it`,
      };
    }
  }
  return { ok: true };
}
