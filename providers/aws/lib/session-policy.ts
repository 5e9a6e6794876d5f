import type { CatalogueAction } from './catalogue.js';

interface ScopeConditions {
  resources: readonly string[];
  conditions?: Record<string, Record<string, string | string[]>>;
}

/**
 * The session policy: exactly the granted actions and resources, one Allow statement whose
 * condition ends it at the lease's expiry (`DateLessThan aws:CurrentTime`), so the session
 * is useless after the broker's TTL even though STS keeps it valid for at least 15 minutes.
 */
export function sessionPolicy(
  scope: ScopeConditions,
  actions: readonly CatalogueAction[],
  expiresAt: Date,
): Record<string, unknown> {
  const requested = scope.conditions ?? {};
  const condition: Record<string, Record<string, string | string[]>> = {};
  for (const [operator, keys] of Object.entries(requested)) condition[operator] = { ...keys };
  condition.DateLessThan = {
    ...condition.DateLessThan,
    'aws:CurrentTime': expiresAt.toISOString(),
  };
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'JitGrant',
        Effect: 'Allow',
        Action: actions.map((action) => action.name),
        Resource: [...scope.resources],
        Condition: condition,
      },
    ],
  };
}

export function sessionPolicyText(
  scope: ScopeConditions,
  actions: readonly CatalogueAction[],
  expiresAt: Date,
): string {
  return JSON.stringify(sessionPolicy(scope, actions, expiresAt));
}
