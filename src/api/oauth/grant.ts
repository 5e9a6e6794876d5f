import { OAuthError } from './errors.js';
import { type FormParameters, one, required } from './form.js';
import {
  GRANT_JWT_BEARER,
  GRANT_TOKEN_EXCHANGE,
  TOKEN_TYPE_CREDENTIAL,
  TOKEN_TYPE_ID_TOKEN,
  TOKEN_TYPE_JWT,
} from './urns.js';

/** The workload's identity token, and the party acting for it when there is one. */
export interface Grant {
  readonly subjectToken: string;
  readonly actorToken: string | undefined;
}

const IDENTITY_TOKEN_TYPES: ReadonlySet<string> = new Set([TOKEN_TYPE_JWT, TOKEN_TYPE_ID_TOKEN]);

/** The grant as sent, checked for shape only; the tokens are verified by `verifyGrant`. */
export function grantOf(params: FormParameters): Grant {
  const grantType = required(params, 'grant_type');
  if (grantType === GRANT_JWT_BEARER) {
    if (params.has('actor_token') || params.has('subject_token')) {
      throw new OAuthError('invalid_request', 'jwt-bearer takes only an "assertion"');
    }
    return { subjectToken: required(params, 'assertion'), actorToken: undefined };
  }
  if (grantType !== GRANT_TOKEN_EXCHANGE) {
    throw new OAuthError(
      'unsupported_grant_type',
      'only token-exchange and jwt-bearer grants are supported',
    );
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
  return { subjectToken, actorToken };
}
