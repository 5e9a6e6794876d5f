import type { OperatorPrincipal } from '../../src/identity/types.js';

/** The on-call admin the benchmarks act as when they pull a kill switch or revoke a lease. */
export const ONCALL_OPERATOR: OperatorPrincipal = {
  kind: 'operator',
  name: 'oncall@example.com',
  expiresAt: Number.MAX_SAFE_INTEGER,
  roles: ['admin'],
  via: 'jwt',
  tokenHash: '0'.repeat(64),
};
