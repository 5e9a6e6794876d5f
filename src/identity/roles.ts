import type { OperatorRole } from '../config/schema.js';
import type { OperatorPrincipal } from './types.js';

const RANK: Record<OperatorRole, number> = { viewer: 1, revoker: 2, admin: 3 };

/** admin ⊇ revoker ⊇ viewer: a role grants everything the roles below it grant. */
export function hasRole(principal: OperatorPrincipal, needed: OperatorRole): boolean {
  return principal.roles.some((role) => RANK[role] >= RANK[needed]);
}

export function isOperatorRole(value: unknown): value is OperatorRole {
  return typeof value === 'string' && Object.hasOwn(RANK, value);
}
