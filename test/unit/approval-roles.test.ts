import { describe, expect, it } from 'vitest';
import { operatorMay } from '../../src/access/permits.js';
import { ACTIONS, type Action } from '../../src/access/table.js';
import type { OperatorRole } from '../../src/config/schema.js';
import { hasRole, isOperatorRole } from '../../src/identity/roles.js';
import type { OperatorPrincipal } from '../../src/identity/types.js';

const operator = (roles: OperatorRole[]): OperatorPrincipal => ({
  kind: 'operator',
  name: 'someone@example.com',
  roles,
  via: 'jwt',
  expiresAt: Date.now() + 60_000,
  tokenHash: 'sha256:00',
});

const DECIDE: readonly Action[] = ['approval.approve', 'approval.deny'];

describe('the approver role', () => {
  it('is a role operators can hold', () => {
    expect(isOperatorRole('approver')).toBe(true);
    expect(isOperatorRole('approvers')).toBe(false);
  });

  it("grants a viewer's actions and deciding approvals, and nothing a revoker or admin adds", () => {
    const approver = operator(['approver']);
    const viewer = operator(['viewer']);
    for (const action of ACTIONS) {
      const expected = operatorMay(viewer, action) || DECIDE.includes(action);
      expect(operatorMay(approver, action), action).toBe(expected);
    }
    expect(hasRole(approver, 'viewer')).toBe(true);
    expect(hasRole(approver, 'revoker')).toBe(false);
    expect(hasRole(approver, 'admin')).toBe(false);
  });

  it('any operator sees approvals; only approvers and admins decide', () => {
    for (const roles of [['viewer'], ['revoker'], ['approver'], ['admin']] as OperatorRole[][]) {
      expect(operatorMay(operator(roles), 'approval.list'), roles.join()).toBe(true);
      expect(operatorMay(operator(roles), 'approval.read'), roles.join()).toBe(true);
    }
    for (const action of DECIDE) {
      expect(operatorMay(operator(['admin']), action)).toBe(true);
      expect(operatorMay(operator(['approver']), action)).toBe(true);
      expect(operatorMay(operator(['viewer']), action)).toBe(false);
      expect(operatorMay(operator(['revoker']), action)).toBe(false);
    }
  });
});
