import type { OperatorRole } from '../config/schema.js';
import type { OperatorPrincipal } from './types.js';

type RankedRole = Exclude<OperatorRole, 'approver'>;
const RANK: Record<RankedRole, number> = { viewer: 1, revoker: 2, admin: 3 };

/**
 * admin ⊇ revoker ⊇ viewer: a role grants everything the roles below it grant. `approver`
 * is beside the ladder: it grants only the approval actions, which `admin` grants too, and
 * no ranked role's actions.
 */
export function hasRole(principal: OperatorPrincipal, needed: OperatorRole): boolean {
  if (needed === 'approver') {
    return principal.roles.some((role) => role === 'approver' || role === 'admin');
  }
  return principal.roles.some((role) => role !== 'approver' && RANK[role] >= RANK[needed]);
}

export function isOperatorRole(value: unknown): value is OperatorRole {
  return typeof value === 'string' && (value === 'approver' || Object.hasOwn(RANK, value));
}
