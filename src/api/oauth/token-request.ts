import type { Context } from 'hono';
import type { CredentialRequest } from '../../broker/index.js';
import { type ClientAssertion, clientAssertionOf } from './client-auth.js';
import { OAuthError } from './errors.js';
import { type FormParameters, one } from './form.js';
import { grantOf, type IdentityGrant } from './grant.js';
import { scopeTokens } from './resource-scope.js';
import { scopeFromString } from './scope-string.js';
import { type RequestedTarget, targetOf } from './target.js';
import { taskOf } from './task.js';

interface Common {
  readonly task: CredentialRequest['task'];
}

/** A `/oauth/token` request checked for shape, per grant; no token in it is verified yet. */
export type TokenRequest =
  | (Common & {
      readonly kind: 'identity';
      readonly grant: IdentityGrant;
      readonly target: RequestedTarget;
      readonly scopes: string[];
    })
  | (Common & {
      readonly kind: 'client_credentials';
      readonly client: ClientAssertion;
      readonly target: RequestedTarget;
      readonly scopes: string[];
    })
  | (Common & {
      readonly kind: 'id_jag';
      readonly client: ClientAssertion;
      readonly assertion: string;
      /** What the request names besides the grant's own `resource`, if anything. */
      readonly target: RequestedTarget | undefined;
      /** Undefined: every scope the grant asserts. */
      readonly scopes: string[] | undefined;
    });

/**
 * Everything `/oauth/token` can check without a key: the grant's shape, client
 * authentication's shape, the target or resource, the scope string and the task. A malformed
 * request is refused before any token is verified (or any one-time `jti` spent).
 */
export function tokenRequestOf(c: Context, params: FormParameters): TokenRequest {
  const grant = grantOf(params, clientAssertionOf(c, params));
  const { resources } = c.get('services').authorizationServer();
  const scopeText = one(params, 'scope');
  if (scopeText !== undefined) scopeFromString(scopeText);
  const scopes = scopeText === undefined ? undefined : scopeTokens(scopeText);
  if (grant.kind === 'id_jag') {
    // An ID-JAG names its resource itself; one sent beside it must be the same.
    const named = params.has('resource') || params.has('audience');
    return {
      kind: 'id_jag',
      client: grant.client,
      assertion: grant.assertion,
      target: named ? targetOf(params, resources) : undefined,
      scopes,
      task: taskOf(params),
    };
  }
  const target = targetOf(params, resources);
  if (scopes === undefined) {
    throw new OAuthError('invalid_scope', 'the "scope" parameter is required');
  }
  const task = taskOf(params);
  if (grant.kind === 'identity') return { kind: 'identity', grant, target, scopes, task };
  return { kind: 'client_credentials', client: grant.client, target, scopes, task };
}
