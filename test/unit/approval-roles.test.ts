import { describe, expect, it } from 'vitest';
import { operatorMay } from '../../src/access/permits.js';
import { ACTIONS } from '../../src/access/table.js';
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

const APPROVAL_ACTIONS = ['approval.list', 'approval.read', 'approval.approve', 'approval.deny'];

describe('the approver role', () => {
  it('is a role operators can hold', () => {
    expect(isOperatorRole('approver')).toBe(true);
    expect(isOperatorRole('approvers')).toBe(false);
  });

  it('grants the approval actions and nothing else', () => {
    const approver = operator(['approver']);
    for (const action of ACTIONS) {
      expect(operatorMay(approver, action), action).toBe(APPROVAL_ACTIONS.includes(action));
    }
    expect(hasRole(approver, 'viewer')).toBe(false);
  });

  it('admin may approve; viewer and revoker may not', () => {
    for (const action of ['approval.approve', 'approval.deny', 'approval.list'] as const) {
      expect(operatorMay(operator(['admin']), action)).toBe(true);
      expect(operatorMay(operator(['viewer']), action)).toBe(false);
      expect(operatorMay(operator(['revoker']), action)).toBe(false);
      expect(operatorMay(operator(['viewer', 'approver']), action)).toBe(true);
    }
  });
});
