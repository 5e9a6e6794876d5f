import type { CompiledActorRequirement } from './compile.js';
import type { ActorUse, PolicyRequest } from './types.js';

export type ActorCheck =
  | { ok: true; use?: ActorUse; user?: string }
  | { ok: false; code: string; message: string };

/**
 * A policy's actor requirement against the request's verified actor token: who issued it,
 * whether its claims bind this request (`bind`), the user it names, and for one-time
 * issuers the token id issuance records. Reason messages name claims and fields, never
 * their values (they are the caller's).
 */
export function checkActor(
  requirement: CompiledActorRequirement | boolean,
  req: PolicyRequest,
): ActorCheck {
  if (requirement === false) return { ok: true };
  const actor = req.actor;
  if (actor === undefined) {
    return { ok: false, code: 'actor_required', message: 'a verified actor assertion is required' };
  }
  if (requirement === true) return { ok: true };
  if (!requirement.issuers.has(actor.issuer)) {
    return {
      ok: false,
      code: 'actor_issuer_untrusted',
      message: 'the actor assertion is not from an issuer this policy trusts',
    };
  }
  for (const [claim, field] of requirement.bind) {
    const value = actor.claims[claim];
    const expected = requestField(req, field);
    if (typeof value !== 'string' || expected === undefined || value !== expected) {
      return {
        ok: false,
        code: 'actor_unbound',
        message: `the actor assertion's "${claim}" claim does not equal the request's ${field}`,
      };
    }
  }
  let user: string | undefined;
  if (requirement.userClaim !== undefined) {
    const value = actor.claims[requirement.userClaim];
    if (typeof value !== 'string' || value === '') {
      return {
        ok: false,
        code: 'actor_unbound',
        message: `the actor assertion has no "${requirement.userClaim}" claim naming its user`,
      };
    }
    user = value;
  }
  if (!requirement.oneTime) return user === undefined ? { ok: true } : { ok: true, user };
  const { jti, exp } = actor.claims;
  if (typeof jti !== 'string' || jti === '' || typeof exp !== 'number') {
    return {
      ok: false,
      code: 'actor_unbound',
      message: 'a one-time actor assertion needs "jti" and "exp" claims',
    };
  }
  const use: ActorUse = { issuer: actor.issuer, jti, taskId: req.task.id, expiresAt: exp * 1000 };
  return user === undefined ? { ok: true, use } : { ok: true, use, user };
}

function requestField(req: PolicyRequest, field: string): string | undefined {
  switch (field) {
    case 'task.id':
      return req.task.id;
    case 'task.intent':
      return req.task.intent;
    case 'task.tool':
      return req.task.tool;
    case 'workload.id':
      return req.workload.id;
    case 'target':
      return req.target;
    default:
      return undefined;
  }
}
