import type { OperatorRole } from '../config/schema.js';

/**
 * Every action the API offers. A route declares the one it performs; nothing else in the
 * code decides who may call it.
 */
export const ACTIONS = [
  'credential.issue',
  'oauth.token',
  'oauth.revoke',
  'oauth.metadata',
  'oauth.authorize',
  'token.introspect',
  'lease.list',
  'lease.read',
  'lease.revoke',
  'lease.renew',
  'lease.retry',
  'task.end',
  'workload.list',
  'workload.revoke',
  'workload.unblock',
  'workload.report',
  'workload.inventory',
  'workload.receipt',
  'workload.hold',
  'workload.release',
  'revoke.selector',
  'issuance.freeze',
  'issuance.unfreeze',
  'issuance.status',
  'policy.simulate',
  'approval.list',
  'approval.read',
  'approval.approve',
  'approval.deny',
  'events.feed',
  'keys.read',
  'audit.keys',
  'ssf.configuration',
  'ssf.keys',
  'health.live',
  'health.ready',
  'health.detail',
  'metrics.read',
  'openapi.read',
  'operator.whoami',
  'status.read',
  'console.page',
  'console.asset',
] as const;
export type Action = (typeof ACTIONS)[number];

/**
 * What a workload may do with an action:
 * - `self`: act for itself (ask for its own credentials);
 * - `own`: act on what it owns (its leases and tasks), and nothing else; a workload whose
 *   `lease_owner` is `identity` owns only the leases issued to the same verified subject;
 * - `own_identity`: act on its own leases, and only those issued to the same verified
 *   subject, whatever `lease_owner` says (a renewal hands out a token naming that subject);
 * - `resource_server`: ask about tokens whose audience it serves.
 */
export type WorkloadAccess = 'self' | 'own' | 'own_identity' | 'resource_server';

/**
 * How the caller proves who it is: a bearer token in `Authorization` (workload JWT, operator
 * JWT or break-glass token), an OAuth grant in the form body (`/oauth/token`), nothing, or
 * the optional metrics token.
 */
export type Presentation = 'bearer' | 'grant' | 'none' | 'metrics_token';

export interface AccessRule {
  readonly presented: Presentation;
  /** Absent: no workload may take the action. */
  readonly workload?: WorkloadAccess;
  /** The lowest operator role that may take the action, on anything. Absent: no operator. */
  readonly operator?: OperatorRole;
}

/** Who may do what. The README's "who" column and the OpenAPI document are written from it. */
export const ACCESS: Readonly<Record<Action, AccessRule>> = {
  'credential.issue': { presented: 'bearer', workload: 'self' },
  'oauth.token': { presented: 'grant', workload: 'self' },
  'oauth.revoke': { presented: 'grant', workload: 'own' },
  'oauth.metadata': { presented: 'none' },
  'oauth.authorize': { presented: 'none' },
  'token.introspect': { presented: 'bearer', workload: 'resource_server' },
  'lease.list': { presented: 'bearer', workload: 'own', operator: 'viewer' },
  'lease.read': { presented: 'bearer', workload: 'own', operator: 'viewer' },
  'lease.revoke': { presented: 'bearer', workload: 'own', operator: 'revoker' },
  'lease.renew': { presented: 'bearer', workload: 'own_identity' },
  'lease.retry': { presented: 'bearer', operator: 'revoker' },
  'task.end': { presented: 'bearer', workload: 'own', operator: 'revoker' },
  'workload.list': { presented: 'bearer', operator: 'viewer' },
  'workload.revoke': { presented: 'bearer', operator: 'revoker' },
  'workload.unblock': { presented: 'bearer', operator: 'admin' },
  'workload.report': { presented: 'bearer', operator: 'viewer' },
  'workload.inventory': { presented: 'bearer', operator: 'viewer' },
  'workload.receipt': { presented: 'bearer', operator: 'viewer' },
  'workload.hold': { presented: 'bearer', operator: 'viewer' },
  // Lifting a detection's hold undoes an incident control, as unblock does.
  'workload.release': { presented: 'bearer', operator: 'admin' },
  'revoke.selector': { presented: 'bearer', operator: 'revoker' },
  'issuance.freeze': { presented: 'bearer', operator: 'admin' },
  'issuance.unfreeze': { presented: 'bearer', operator: 'admin' },
  'issuance.status': { presented: 'bearer', operator: 'viewer' },
  'policy.simulate': { presented: 'bearer', operator: 'admin' },
  // Any operator sees what waits; only approvers and admins decide (never a revoker).
  'approval.list': { presented: 'bearer', workload: 'own', operator: 'viewer' },
  'approval.read': { presented: 'bearer', workload: 'own', operator: 'viewer' },
  'approval.approve': { presented: 'bearer', operator: 'approver' },
  'approval.deny': { presented: 'bearer', operator: 'approver' },
  'events.feed': { presented: 'bearer', operator: 'viewer' },
  'keys.read': { presented: 'none' },
  'audit.keys': { presented: 'none' },
  'ssf.configuration': { presented: 'none' },
  'ssf.keys': { presented: 'none' },
  'health.live': { presented: 'none' },
  'health.ready': { presented: 'none' },
  'health.detail': { presented: 'bearer', operator: 'viewer' },
  'metrics.read': { presented: 'metrics_token' },
  'openapi.read': { presented: 'none' },
  'operator.whoami': { presented: 'bearer', operator: 'viewer' },
  'status.read': { presented: 'bearer', operator: 'viewer' },
  'console.page': { presented: 'none' },
  'console.asset': { presented: 'none' },
};

const WORKLOAD_WORDS: Record<WorkloadAccess, string> = {
  self: 'workload',
  own: 'owner',
  own_identity: 'owner (the issuing identity)',
  resource_server: 'resource server (workload of the audience)',
};

/** The "who" of an action in words, as the README and the OpenAPI document show it. */
export function whoMay(action: Action): string {
  const rule = ACCESS[action];
  const who: string[] = [];
  if (rule.workload !== undefined) {
    who.push(
      rule.presented === 'grant'
        ? `${WORKLOAD_WORDS[rule.workload]} (its identity JWT, in the form body)`
        : WORKLOAD_WORDS[rule.workload],
    );
  }
  if (rule.operator !== undefined) who.push(rule.operator);
  if (rule.presented === 'none') who.push('anyone');
  if (rule.presented === 'metrics_token') who.push('anyone (or the metrics token when set)');
  return who.join(', ');
}
