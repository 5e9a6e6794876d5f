import type { OperatorRole } from '../config/schema.js';
import type { OperatorPrincipal } from './types.js';

/**
 * What each role holds: a role grants its own actions and those of every role it lists.
 * viewer ⊂ revoker ⊂ admin, and viewer ⊂ approver ⊂ admin: an approver sees what a viewer
 * sees (the request it decides on, the workload's leases and events) and may approve or
 * deny, but revokes nothing; admin holds everything.
 */
const HOLDS: Record<OperatorRole, readonly OperatorRole[]> = {
  viewer: ['viewer'],
  revoker: ['revoker', 'viewer'],
  approver: ['approver', 'viewer'],
  admin: ['admin', 'revoker', 'approver', 'viewer'],
};

export function hasRole(principal: OperatorPrincipal, needed: OperatorRole): boolean {
  return principal.roles.some((role) => HOLDS[role].includes(needed));
}

export function isOperatorRole(value: unknown): value is OperatorRole {
  return typeof value === 'string' && Object.hasOwn(HOLDS, value);
}
