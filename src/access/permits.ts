import { hasRole } from '../identity/roles.js';
import type { OperatorPrincipal, Principal } from '../identity/types.js';
import { ACCESS, type Action } from './table.js';

/**
 * What an action is taken on: a workload's own resource (with the verified subject it was
 * issued to, for a lease), or a token of some audience.
 */
export type Resource =
  | { readonly owner: string; readonly subject?: string; readonly issuer?: string }
  | { readonly resourceServers: readonly string[] }
  | 'self';

/**
 * May `principal` take `action` on `resource`? The role part is already enforced by the
 * route's middleware; this answers the part only the broker knows: whose lease or task it
 * is, or which audience a token serves. Callers answer `false` with a 404, so nobody
 * learns that another workload's resource exists.
 */
export function permits(principal: Principal, action: Action, resource: Resource): boolean {
  const rule = ACCESS[action];
  if (principal.kind === 'operator') return operatorMay(principal, action);
  const { workload, identity } = principal;
  const owned =
    typeof resource === 'object' && 'owner' in resource && resource.owner === workload.id;
  // The same verified identity: subject and the issuer that vouched for it.
  const sameSubject =
    typeof resource === 'object' &&
    'owner' in resource &&
    resource.subject === identity.subject &&
    (resource.issuer === undefined || resource.issuer === identity.issuer);
  switch (rule.workload) {
    case 'self':
      return resource === 'self';
    case 'own':
      // A task or a listing has no single subject: the workload's ownership decides.
      return (
        owned &&
        (workload.lease_owner !== 'identity' ||
          (resource as { subject?: string }).subject === undefined ||
          sameSubject)
      );
    case 'own_identity':
      return owned && sameSubject;
    case 'resource_server':
      return (
        typeof resource === 'object' &&
        'resourceServers' in resource &&
        resource.resourceServers.includes(workload.id)
      );
    default:
      return false;
  }
}

/** The role part of an action's rule: may this operator take the action at all? */
export function operatorMay(principal: OperatorPrincipal, action: Action): boolean {
  const needed = ACCESS[action].operator;
  return needed !== undefined && hasRole(principal, needed);
}

/**
 * The workload a listing or a task call is about: a workload's own, whatever it asked for;
 * an operator's choice (undefined: every workload).
 */
export function workloadInView(
  principal: Principal,
  asked: string | undefined,
): string | undefined {
  return principal.kind === 'workload' ? principal.workload.id : asked;
}

/** `permits` for one lease: its workload, and the identity it was issued to. */
export function permitsOnLease(
  principal: Principal,
  action: Action,
  lease: { readonly workload: string; readonly subject: string; readonly issuer: string },
): boolean {
  return permits(principal, action, {
    owner: lease.workload,
    subject: lease.subject,
    issuer: lease.issuer,
  });
}
