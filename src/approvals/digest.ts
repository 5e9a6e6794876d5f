import { contentHash } from '../policy/hash.js';
import type { NewApproval } from './types.js';

/**
 * The digest an approval is bound to: who asks (workload, verified subject and its issuer,
 * actor with its issuer and user), for what (target, parsed scope, lifetime), for which task
 * (id, intent, tool), and under which policy (its name and digest). Any change, including a reload that edits the
 * deciding policy, gives another digest, so an approval never covers a request it did not see.
 */
export function approvalDigest(request: Omit<NewApproval, 'digest'>): string {
  return contentHash({
    workload: request.workload,
    subject: request.subject,
    issuer: request.issuer,
    actor: request.actor,
    actor_issuer: request.actorIssuer,
    actor_user: request.actorUser,
    target: request.target,
    scope: request.scope,
    ttl_ms: request.ttlMs,
    task: { id: request.task.id, intent: request.task.intent, tool: request.task.tool },
    policy: request.policy,
    policy_digest: request.policyDigest,
  });
}
