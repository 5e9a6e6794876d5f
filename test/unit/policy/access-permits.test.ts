import { describe, expect, it } from 'vitest';
import { permits, type Resource, workloadInView } from '../../../src/access/permits.js';
import { ACCESS, ACTIONS } from '../../../src/access/table.js';
import { type OperatorRole, workloadSchema } from '../../../src/config/schema.js';
import type { OperatorPrincipal, WorkloadPrincipal } from '../../../src/identity/types.js';

/*
 * permits(): the part of access control only the broker knows (whose lease, which audience).
 * The route matrix in test/integration/route-access.test.ts checks the table route by route;
 * these pin the decision itself, so a weakened owner or audience check fails without services.
 */

function workload(
  id: string,
  subject = id,
  leaseOwner?: 'workload' | 'identity',
): WorkloadPrincipal {
  return {
    kind: 'workload',
    workload: workloadSchema.parse({
      id,
      issuer: 'idp',
      subject: '*',
      tier: 'write',
      ...(leaseOwner === undefined ? {} : { lease_owner: leaseOwner }),
    }),
    identity: {
      issuer: 'idp',
      iss: 'https://idp.example.test',
      subject,
      claims: { sub: subject },
      tokenHash: 'h',
      expiresAt: 0,
    },
  };
}

function operator(role: OperatorRole): OperatorPrincipal {
  return {
    kind: 'operator',
    name: 'alice',
    roles: [role],
    via: 'jwt',
    tokenHash: 'h',
    expiresAt: Date.now() + 60_000,
  };
}

const ORDERS = workload('orders-mcp');
const RESOURCES: readonly Resource[] = [
  'self',
  { owner: 'orders-mcp' },
  { resourceServers: ['orders-mcp'] },
];

describe('permits: workloads', () => {
  it('lets a workload act for itself only where the action is its own', () => {
    expect(permits(ORDERS, 'credential.issue', 'self')).toBe(true);
    expect(permits(ORDERS, 'credential.issue', { owner: 'orders-mcp' })).toBe(false);
    expect(permits(ORDERS, 'credential.issue', { resourceServers: ['orders-mcp'] })).toBe(false);
  });

  it("lets a workload at its own leases and tasks, never another's", () => {
    // The lease as the broker describes it: its owner and the subject it was issued to.
    const mine = { owner: 'orders-mcp', subject: ORDERS.identity.subject };
    const theirs = { owner: 'billing-mcp', subject: ORDERS.identity.subject };
    for (const action of ['lease.read', 'lease.revoke', 'lease.renew', 'task.end'] as const) {
      expect(permits(ORDERS, action, mine), action).toBe(true);
      expect(permits(ORDERS, action, theirs), action).toBe(false);
      expect(permits(ORDERS, action, 'self'), action).toBe(false);
      expect(permits(ORDERS, action, { resourceServers: ['orders-mcp'] }), action).toBe(false);
    }
  });

  it('leaves renewal to the identity the lease was issued to', () => {
    // Two pods of one workload: each renews only its own leases, whatever lease_owner says.
    const podA = workload('orders-mcp', 'pod-a');
    const issuedToB = { owner: 'orders-mcp', subject: 'pod-b' };
    const issuedToA = { owner: 'orders-mcp', subject: 'pod-a' };
    expect(permits(podA, 'lease.renew', issuedToA)).toBe(true);
    expect(permits(podA, 'lease.renew', issuedToB)).toBe(false);
    expect(permits(podA, 'lease.renew', { owner: 'orders-mcp' })).toBe(false);
    expect(permits(podA, 'lease.renew', { owner: 'billing-mcp', subject: 'pod-a' })).toBe(false);
    const perIdentity = workload('orders-mcp', 'pod-a', 'identity');
    expect(permits(perIdentity, 'lease.renew', issuedToB)).toBe(false);
  });

  it('shares leases across the workload by default, and per identity when lease_owner says so', () => {
    const issuedToB = { owner: 'orders-mcp', subject: 'pod-b' };
    const issuedToA = { owner: 'orders-mcp', subject: 'pod-a' };
    const shared = workload('orders-mcp', 'pod-a');
    const perIdentity = workload('orders-mcp', 'pod-a', 'identity');
    for (const action of ['lease.read', 'lease.revoke'] as const) {
      expect(permits(shared, action, issuedToB), action).toBe(true);
      expect(permits(workload('orders-mcp', 'pod-a', 'workload'), action, issuedToB)).toBe(true);
      expect(permits(perIdentity, action, issuedToA), action).toBe(true);
      expect(permits(perIdentity, action, issuedToB), action).toBe(false);
      expect(permits(perIdentity, action, { owner: 'billing-mcp', subject: 'pod-a' })).toBe(false);
    }
    // A task or a listing names no subject: the workload's ownership decides.
    expect(permits(perIdentity, 'task.end', { owner: 'orders-mcp' })).toBe(true);
    expect(permits(perIdentity, 'lease.list', { owner: 'billing-mcp' })).toBe(false);
  });

  it('lets a workload introspect only tokens whose audience it serves', () => {
    const mine = { resourceServers: ['billing-mcp', 'orders-mcp'] };
    expect(permits(ORDERS, 'token.introspect', mine)).toBe(true);
    expect(permits(ORDERS, 'token.introspect', { resourceServers: ['billing-mcp'] })).toBe(false);
    expect(permits(ORDERS, 'token.introspect', { resourceServers: [] })).toBe(false);
    expect(permits(ORDERS, 'token.introspect', { owner: 'orders-mcp' })).toBe(false);
    expect(permits(ORDERS, 'token.introspect', 'self')).toBe(false);
  });

  it('lets no workload take an action the table gives no workload, on anything', () => {
    const closed = ACTIONS.filter((action) => ACCESS[action].workload === undefined);
    expect(closed).toContain('lease.retry');
    for (const action of closed) {
      for (const resource of RESOURCES) {
        expect(permits(ORDERS, action, resource), `${action} on ${JSON.stringify(resource)}`).toBe(
          false,
        );
      }
    }
  });
});

describe('permits: operators', () => {
  it('needs at least the role the table names', () => {
    expect(permits(operator('viewer'), 'lease.read', { owner: 'orders-mcp' })).toBe(true);
    expect(permits(operator('viewer'), 'lease.revoke', { owner: 'orders-mcp' })).toBe(false);
    expect(permits(operator('revoker'), 'lease.revoke', { owner: 'orders-mcp' })).toBe(true);
    expect(permits(operator('revoker'), 'issuance.freeze', 'self')).toBe(false);
    expect(permits(operator('admin'), 'issuance.freeze', 'self')).toBe(true);
  });

  it('lets no operator, not even an admin, take an action the table gives no operator', () => {
    const closed = ACTIONS.filter((action) => ACCESS[action].operator === undefined);
    expect(closed).toContain('credential.issue');
    expect(closed).toContain('lease.renew');
    for (const action of closed) {
      for (const resource of RESOURCES) {
        expect(permits(operator('admin'), action, resource), action).toBe(false);
      }
    }
  });
});

describe('workloadInView', () => {
  it('holds a workload to its own view, whatever it asked for, and gives an operator theirs', () => {
    expect(workloadInView(ORDERS, 'billing-mcp')).toBe('orders-mcp');
    expect(workloadInView(ORDERS, undefined)).toBe('orders-mcp');
    expect(workloadInView(operator('viewer'), 'billing-mcp')).toBe('billing-mcp');
    expect(workloadInView(operator('viewer'), undefined)).toBeUndefined();
  });
});
