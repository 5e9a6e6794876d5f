import type { Action } from '../access/table.js';

/**
 * The OpenAPI `operationId` of each action's route: what client generators name their
 * methods after, so once published a name stays. Keyed by action (each route performs one),
 * so a new action does not compile until its operation is named.
 */
export const OPERATION_IDS: Readonly<Record<Action, string>> = {
  'credential.issue': 'issueCredential',
  'oauth.token': 'exchangeToken',
  'oauth.revoke': 'revokeToken',
  'oauth.metadata': 'getAuthorizationServerMetadata',
  'oauth.authorize': 'authorize',
  'token.introspect': 'introspectToken',
  'lease.list': 'listLeases',
  'lease.read': 'getLease',
  'lease.revoke': 'revokeLease',
  'lease.renew': 'renewLease',
  'lease.retry': 'retryLeaseRevocation',
  'task.end': 'revokeTask',
  'workload.list': 'listWorkloads',
  'workload.revoke': 'revokeWorkload',
  'workload.unblock': 'unblockWorkload',
  'revoke.selector': 'revokeBySelector',
  'issuance.freeze': 'freezeIssuance',
  'issuance.unfreeze': 'resumeIssuance',
  'issuance.status': 'getIssuanceFreeze',
  'policy.simulate': 'simulatePolicy',
  'events.feed': 'streamEvents',
  'keys.read': 'getJwks',
  'audit.keys': 'getAuditKeys',
  'health.live': 'checkLiveness',
  'health.ready': 'checkReadiness',
  'health.detail': 'getReadinessDetail',
  'metrics.read': 'getMetrics',
  'openapi.read': 'getOpenApiDocument',
  'operator.whoami': 'whoAmI',
  'status.read': 'getStatus',
  'console.page': 'getConsole',
  'console.asset': 'getConsoleAsset',
};
