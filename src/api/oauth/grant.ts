import { isIdJagToken } from '../../identity/id-jag.js';
import type { ClientAssertion } from './client-auth.js';
import { OAuthError } from './errors.js';
import { type FormParameters, one, required, requireSingleValues } from './form.js';
import {
  GRANT_CLIENT_CREDENTIALS,
  GRANT_JWT_BEARER,
  GRANT_TOKEN_EXCHANGE,
  TOKEN_TYPE_CREDENTIAL,
  TOKEN_TYPE_ID_TOKEN,
  TOKEN_TYPE_JWT,
} from './urns.js';

/** The workload's identity token, and the party acting for it when there is one. */
export interface IdentityGrant {
  readonly kind: 'identity';
  readonly subjectToken: string;
  readonly actorToken: string | undefined;
  /** The form field the subject token came in. */
  readonly parameter: 'subject_token' | 'assertion';
}

/**
 * What `/oauth/token` is asked to redeem: a workload's own identity token (token exchange,
 * jwt-bearer); nothing but the authenticated client (client credentials); or an enterprise
 * user's ID-JAG presented by the authenticated client.
 */
export type Grant =
  | IdentityGrant
  | { readonly kind: 'client_credentials'; readonly client: ClientAssertion }
  | { readonly kind: 'id_jag'; readonly client: ClientAssertion; readonly assertion: string };

const GRANT_TOKENS = ['assertion', 'subject_token', 'actor_token'] as const;

const IDENTITY_TOKEN_TYPES: ReadonlySet<string> = new Set([TOKEN_TYPE_JWT, TOKEN_TYPE_ID_TOKEN]);

/**
 * The grant as sent, checked for shape only; the tokens are verified later. `client` is the
 * request's client authentication, if any: with it a jwt-bearer grant is an ID-JAG presented
 * by that client, without it the workload's own assertion.
 */
export function grantOf(params: FormParameters, client: ClientAssertion | undefined): Grant {
  const grantType = required(params, 'grant_type');
  if (grantType === GRANT_CLIENT_CREDENTIALS) {
    requireSingleValues(params);
    if (client === undefined) {
      throw new OAuthError('invalid_client', 'client credentials need a client_assertion', 401);
    }
    if (GRANT_TOKENS.some((name) => params.has(name))) {
      throw new OAuthError('invalid_request', 'client_credentials takes no assertion or token');
    }
    return { kind: 'client_credentials', client };
  }
  if (grantType === GRANT_JWT_BEARER) {
    if (params.has('actor_token') || params.has('subject_token')) {
      throw new OAuthError('invalid_request', 'jwt-bearer takes only an "assertion"');
    }
    const assertion = required(params, 'assertion');
    if (client !== undefined) {
      requireSingleValues(params);
      return { kind: 'id_jag', client, assertion };
    }
    // The ID-JAG draft: the client presenting a grant authenticates as the client it names.
    if (isIdJagToken(assertion)) {
      throw new OAuthError('invalid_client', 'an ID-JAG needs a client_assertion', 401);
    }
    return {
      kind: 'identity',
      subjectToken: assertion,
      actorToken: undefined,
      parameter: 'assertion',
    };
  }
  if (grantType !== GRANT_TOKEN_EXCHANGE) {
    throw new OAuthError(
      'unsupported_grant_type',
      'only token-exchange, jwt-bearer and client_credentials grants are supported',
    );
  }
  if (client !== undefined) {
    throw new OAuthError('invalid_request', 'token exchange takes no client authentication');
  }
  const subjectToken = required(params, 'subject_token');
  if (!IDENTITY_TOKEN_TYPES.has(required(params, 'subject_token_type'))) {
    throw new OAuthError('invalid_request', 'subject_token_type must be jwt or id_token');
  }
  const requested = one(params, 'requested_token_type');
  if (
    requested !== undefined &&
    requested !== TOKEN_TYPE_JWT &&
    requested !== TOKEN_TYPE_CREDENTIAL
  ) {
    throw new OAuthError('invalid_request', 'requested_token_type is not one this broker issues');
  }
  const actorToken = one(params, 'actor_token');
  const actorType = one(params, 'actor_token_type');
  // An ID-JAG binds its user to one client and is spent once, and only its own grant
  // checks either: as a subject or an actor it would be a user's grant without them.
  if (isIdJagToken(subjectToken) || (actorToken !== undefined && isIdJagToken(actorToken))) {
    throw new OAuthError('invalid_request', 'an ID-JAG is redeemed only with the jwt-bearer grant');
  }
  // RFC 8693 §2.1: actor_token_type is required with an actor_token and forbidden without.
  if ((actorToken === undefined) !== (actorType === undefined)) {
    throw new OAuthError('invalid_request', 'actor_token and actor_token_type go together');
  }
  if (actorType !== undefined && !IDENTITY_TOKEN_TYPES.has(actorType)) {
    throw new OAuthError('invalid_request', 'actor_token_type must be jwt or id_token');
  }
  if (actorToken !== undefined && actorToken === subjectToken) {
    throw new OAuthError(
      'invalid_request',
      'the actor_token must be another assertion than the subject_token',
    );
  }
  return { kind: 'identity', subjectToken, actorToken, parameter: 'subject_token' };
}
