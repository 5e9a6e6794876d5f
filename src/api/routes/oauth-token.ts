import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { CredentialRequest, IssuedCredential } from '../../broker.js';
import { BrokerError, type BrokerErrorCode } from '../../errors.js';
import { AuthError, type VerifiedIdentity, type WorkloadPrincipal } from '../../identity/types.js';
import { reportAuthFailure } from '../auth.js';
import { requestContext } from '../client-ip.js';
import { TaskSchema } from '../schemas.js';

/**
 * `POST /oauth/token`: RFC 8693 token exchange and RFC 7523 jwt-bearer as a front door to
 * the same policy and lease path as `POST /v1/credentials`. The workload's identity token is
 * the grant (no client authentication); errors are RFC 6749 §5.2 JSON, not problem+json.
 */

export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const GRANT_JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
const TOKEN_TYPE_ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const TOKEN_TYPE_ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
/** RFC 8693 §3 lets a server name its own token types; this one is a provider credential. */
export const TOKEN_TYPE_CREDENTIAL = 'urn:jit-broker:params:oauth:token-type:credential';
/** `resource` may name a target as a URI. */
const TARGET_URN = 'urn:jit-broker:target:';
const IDENTITY_TOKEN_TYPES: ReadonlySet<string> = new Set([TOKEN_TYPE_JWT, TOKEN_TYPE_ID_TOKEN]);
/** RFC 8693 §2.1 allows several `resource` and `audience` values; a lease has one target. */
const REPEATABLE: ReadonlySet<string> = new Set(['resource', 'audience']);
const MAX_SCOPE_TOKENS = 64;
const FIELD = /^[a-z_][a-z0-9_]{0,63}$/;
/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'temporarily_unavailable'
  | 'server_error';

class OAuthError extends Error {
  override readonly name = 'OAuthError';
  readonly code: OAuthErrorCode;
  readonly status: ContentfulStatusCode;
  readonly retryAfter: number | undefined;
  constructor(
    code: OAuthErrorCode,
    description: string,
    status: ContentfulStatusCode = 400,
    retryAfter?: number,
  ) {
    super(description);
    this.code = code;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** Every domain error has one OAuth answer; `undefined` leaves it to `app.onError` (500). */
const FROM_BROKER: Record<
  BrokerErrorCode,
  { code: OAuthErrorCode; status: ContentfulStatusCode } | undefined
> = {
  unauthenticated: { code: 'invalid_grant', status: 400 },
  invalid_token: { code: 'invalid_grant', status: 400 },
  forbidden: { code: 'unauthorized_client', status: 400 },
  policy_denied: { code: 'unauthorized_client', status: 400 },
  workload_unknown: { code: 'unauthorized_client', status: 400 },
  workload_blocked: { code: 'unauthorized_client', status: 400 },
  intent_not_allowed: { code: 'unauthorized_client', status: 400 },
  revoked_during_issuance: { code: 'unauthorized_client', status: 400 },
  target_unknown: { code: 'invalid_target', status: 400 },
  scope_invalid: { code: 'invalid_scope', status: 400 },
  scope_exceeds_ceiling: { code: 'invalid_scope', status: 400 },
  invalid_request: { code: 'invalid_request', status: 400 },
  invalid_json: { code: 'invalid_request', status: 400 },
  task_invalid: { code: 'invalid_request', status: 400 },
  ttl_out_of_range: { code: 'invalid_request', status: 400 },
  payload_too_large: { code: 'invalid_request', status: 413 },
  unsupported_media_type: { code: 'invalid_request', status: 415 },
  lease_cap_reached: { code: 'temporarily_unavailable', status: 429 },
  rate_limited: { code: 'temporarily_unavailable', status: 429 },
  issuance_frozen: { code: 'temporarily_unavailable', status: 503 },
  store_unavailable: { code: 'temporarily_unavailable', status: 503 },
  audit_unavailable: { code: 'temporarily_unavailable', status: 503 },
  not_ready: { code: 'temporarily_unavailable', status: 503 },
  provider_failed: { code: 'server_error', status: 502 },
  not_found: undefined,
  lease_not_found: undefined,
  lease_not_active: undefined,
  lease_not_retryable: undefined,
  not_renewable: undefined,
};

/** RFC 6749 §3.1: parameters must not repeat (except the RFC 8693 target parameters). */
function formParameters(body: string): Map<string, string[]> {
  const params = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(body)) {
    const values = params.get(name) ?? [];
    values.push(value);
    if (values.length > 1 && !REPEATABLE.has(name)) {
      throw new OAuthError('invalid_request', `the "${name}" parameter is repeated`);
    }
    params.set(name, values);
  }
  return params;
}

function one(params: Map<string, string[]>, name: string): string | undefined {
  const value = params.get(name)?.[0];
  return value === '' ? undefined : value;
}

function required(params: Map<string, string[]>, name: string): string {
  const value = one(params, name);
  if (value === undefined)
    throw new OAuthError('invalid_request', `the "${name}" parameter is required`);
  return value;
}

/** `resource` and `audience` together must name exactly one target. */
function targetOf(params: Map<string, string[]>): string {
  const named = [...(params.get('resource') ?? []), ...(params.get('audience') ?? [])]
    .filter((value) => value !== '')
    .map((value) => (value.startsWith(TARGET_URN) ? value.slice(TARGET_URN.length) : value));
  const targets = new Set(named);
  if (targets.size === 0) {
    throw new OAuthError('invalid_request', 'name the target in "resource" or "audience"');
  }
  const [target] = targets;
  if (targets.size > 1 || target === undefined) {
    throw new OAuthError('invalid_target', 'a token is issued for exactly one target');
  }
  return target;
}

/**
 * The `scope` string in provider terms. A bare token is one of `scopes` (the `jwt`
 * provider's list); `field=value` adds `value` to the list `field`; `field.key=value` sets
 * `key` of the object `field`. The target's provider then validates the result as strictly
 * as a JSON scope on `/v1/credentials`.
 */
export function scopeFromString(text: string): Record<string, unknown> {
  const tokens = text.split(' ').filter((token) => token !== '');
  if (tokens.length === 0 || tokens.length > MAX_SCOPE_TOKENS) {
    throw new OAuthError('invalid_scope', `"scope" must hold 1-${MAX_SCOPE_TOKENS} scope tokens`);
  }
  const lists = new Map<string, string[]>();
  const objects = new Map<string, Map<string, string>>();
  for (const token of tokens) {
    if (!SCOPE_TOKEN.test(token))
      throw new OAuthError(
        'invalid_scope',
        'a scope token has a character RFC 6749 does not allow',
      );
    const eq = token.indexOf('=');
    if (eq === -1) {
      lists.set('scopes', [...(lists.get('scopes') ?? []), token]);
      continue;
    }
    const [field, key, ...rest] = token.slice(0, eq).split('.');
    const value = token.slice(eq + 1);
    if (field === undefined || !FIELD.test(field) || rest.length > 0 || value === '') {
      throw new OAuthError('invalid_scope', `"${token}" is not field=value or field.key=value`);
    }
    if (key === undefined) {
      lists.set(field, [...(lists.get(field) ?? []), value]);
      continue;
    }
    if (!FIELD.test(key)) throw new OAuthError('invalid_scope', `"${token}" has a bad key`);
    const object = objects.get(field) ?? new Map<string, string>();
    if (object.has(key)) throw new OAuthError('invalid_scope', `"${field}.${key}" is given twice`);
    objects.set(field, object.set(key, value));
  }
  const scope: Record<string, unknown> = Object.fromEntries(lists);
  for (const [field, object] of objects) {
    if (Object.hasOwn(scope, field))
      throw new OAuthError('invalid_scope', `"${field}" is both a list and an object`);
    scope[field] = Object.fromEntries(object);
  }
  return scope;
}

/** The inverse of `scopeFromString` for what it can express; undefined otherwise. */
export function scopeToString(scope: unknown): string | undefined {
  if (typeof scope !== 'object' || scope === null || Array.isArray(scope)) return undefined;
  const tokens: string[] = [];
  for (const [field, value] of Object.entries(scope)) {
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
      tokens.push(...value.map((v) => (field === 'scopes' ? v : `${field}=${v}`)));
    } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [key, v] of Object.entries(value)) {
        if (typeof v !== 'string') return undefined;
        tokens.push(`${field}.${key}=${v}`);
      }
    } else {
      return undefined;
    }
  }
  return tokens.join(' ');
}

function taskOf(params: Map<string, string[]>): CredentialRequest['task'] {
  const tool = one(params, 'task_tool');
  const parsed = TaskSchema.safeParse({
    id: required(params, 'task_id'),
    intent: required(params, 'task_intent'),
    ...(tool === undefined ? {} : { tool }),
  });
  if (!parsed.success) {
    throw new OAuthError('invalid_request', parsed.error.issues[0]?.message ?? 'bad task fields');
  }
  const { id, intent } = parsed.data;
  return { id, intent, ...(parsed.data.tool === undefined ? {} : { tool: parsed.data.tool }) };
}

interface Grant {
  readonly subjectToken: string;
  readonly actorToken: string | undefined;
}

function grantOf(params: Map<string, string[]>): Grant {
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

/** Same record as the bearer middleware keeps: reason and hash, never the token. */
async function authenticated<T>(
  c: Context,
  token: string,
  parameter: 'subject_token' | 'assertion' | 'actor_token',
  verify: () => Promise<T>,
): Promise<T> {
  try {
    return await verify();
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    await reportAuthFailure(c, err, token, parameter);
    // RFC 7523 §3.1 and RFC 8693 §2.2.2: a grant that does not verify is invalid_grant.
    throw new OAuthError('invalid_grant', `the ${parameter} was not accepted`);
  }
}

function actorOf(
  identity: VerifiedIdentity,
  principal: WorkloadPrincipal,
): NonNullable<CredentialRequest['actor']> {
  if (identity.iss === principal.identity.iss && identity.subject === principal.identity.subject) {
    throw new OAuthError('invalid_request', 'the actor must be another party than the subject');
  }
  return {
    subject: identity.subject,
    issuer: identity.iss,
    claims: identity.claims as Record<string, unknown>,
  };
}

function tokenResponse(
  { lease, credential, tokenType }: IssuedCredential,
  now: number,
): Record<string, unknown> {
  const expiresIn = Math.max(0, Math.floor((lease.expiresAt - now) / 1000));
  const scope = scopeToString(lease.scope);
  const common = {
    expires_in: expiresIn,
    ...(scope === undefined ? {} : { scope }),
    lease_id: lease.id,
    target: lease.target,
    provider: lease.provider,
    expires_at: new Date(lease.expiresAt).toISOString(),
  };
  const token = (credential as { token?: unknown } | null)?.token;
  if (tokenType !== undefined && typeof token === 'string') {
    return {
      access_token: token,
      issued_token_type: tokenType === 'jwt' ? TOKEN_TYPE_JWT : TOKEN_TYPE_ACCESS,
      token_type: 'Bearer',
      ...common,
    };
  }
  // Not an OAuth access token (a database login, cloud keys): RFC 8693 §2.2.1 token_type N_A.
  return {
    access_token: JSON.stringify(credential),
    issued_token_type: TOKEN_TYPE_CREDENTIAL,
    token_type: 'N_A',
    ...common,
  };
}

function oauthErrorResponse(err: OAuthError): Response {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    pragma: 'no-cache',
  };
  if (err.retryAfter !== undefined)
    headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfter)));
  return new Response(JSON.stringify({ error: err.code, error_description: err.message }), {
    status: err.status,
    headers,
  });
}

function fromBroker(err: BrokerError): OAuthError | undefined {
  const mapped = FROM_BROKER[err.code];
  if (mapped === undefined) return undefined;
  const description = err.reasons[0]?.message ?? err.message;
  return new OAuthError(mapped.code, description, mapped.status, err.retryAfter);
}

const TokenRequestSchema = z
  .object({
    grant_type: z.enum([GRANT_TOKEN_EXCHANGE, GRANT_JWT_BEARER]),
    subject_token: z
      .string()
      .optional()
      .openapi({ description: 'token-exchange: the workload identity JWT' }),
    subject_token_type: z.enum([TOKEN_TYPE_JWT, TOKEN_TYPE_ID_TOKEN]).optional(),
    assertion: z
      .string()
      .optional()
      .openapi({ description: 'jwt-bearer: the workload identity JWT' }),
    actor_token: z
      .string()
      .optional()
      .openapi({ description: 'A signed task or user assertion from a configured issuer' }),
    actor_token_type: z.enum([TOKEN_TYPE_JWT, TOKEN_TYPE_ID_TOKEN]).optional(),
    resource: z
      .string()
      .optional()
      .openapi({ description: `Target name, or ${TARGET_URN}<name>` }),
    audience: z.string().optional().openapi({ description: 'Target name' }),
    scope: z.string().openapi({ description: 'Space-separated; see the README for each provider' }),
    requested_token_type: z.string().optional(),
    task_id: z.string(),
    task_intent: z.string(),
    task_tool: z.string().optional(),
  })
  .openapi('TokenExchangeRequest');

const TokenResponseSchema = z
  .object({
    access_token: z.string(),
    issued_token_type: z.string(),
    token_type: z.enum(['Bearer', 'N_A']),
    expires_in: z.number().int(),
    scope: z.string().optional(),
    lease_id: z.string(),
    target: z.string(),
    provider: z.string(),
    expires_at: z.string(),
  })
  .openapi('TokenExchangeResponse');

const OAuthErrorSchema = z
  .object({ error: z.string(), error_description: z.string().optional() })
  .openapi('OAuthError');

export const oauthTokenRoute = createRoute({
  method: 'post',
  path: '/oauth/token',
  tags: ['credentials'],
  summary: 'RFC 8693 token exchange / RFC 7523 jwt-bearer front door to issuance',
  request: {
    body: {
      required: true,
      content: { 'application/x-www-form-urlencoded': { schema: TokenRequestSchema } },
    },
  },
  responses: {
    200: {
      description: 'Issued',
      content: { 'application/json': { schema: TokenResponseSchema } },
    },
    400: {
      description: 'RFC 6749 §5.2 error',
      content: { 'application/json': { schema: OAuthErrorSchema } },
    },
    429: {
      description: 'Rate limited or lease cap reached',
      content: { 'application/json': { schema: OAuthErrorSchema } },
    },
    502: {
      description: 'Provider failed',
      content: { 'application/json': { schema: OAuthErrorSchema } },
    },
    503: {
      description: 'Frozen, or store or audit unavailable',
      content: { 'application/json': { schema: OAuthErrorSchema } },
    },
  },
});

async function exchange(c: Context): Promise<Response> {
  const contentType = c.req.header('content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType)) {
    throw new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded');
  }
  const params = formParameters(await c.req.text());
  const grant = grantOf(params);
  const target = targetOf(params);
  const scopeText = one(params, 'scope');
  if (scopeText === undefined)
    throw new OAuthError('invalid_scope', 'the "scope" parameter is required');
  const scope = scopeFromString(scopeText);
  const task = taskOf(params);

  const services = c.get('services');
  const identity = services.identity();
  const parameter = params.has('assertion') ? 'assertion' : 'subject_token';
  const principal = await authenticated(c, grant.subjectToken, parameter, () =>
    identity.authenticateWorkload(grant.subjectToken),
  );
  const actorToken = grant.actorToken;
  const actor =
    actorToken === undefined
      ? undefined
      : actorOf(
          await authenticated(c, actorToken, 'actor_token', () => identity.verify(actorToken)),
          principal,
        );
  const issued = await services.broker.issue(
    principal,
    { target, scope, task, ...(actor === undefined ? {} : { actor }) },
    requestContext(c),
  );
  return c.json(tokenResponse(issued, Date.now()), 200, {
    'cache-control': 'no-store',
    pragma: 'no-cache',
  });
}

export function registerOAuthToken(app: OpenAPIHono): void {
  // Documented through the registry but parsed by hand: the zod hook would answer
  // problem+json, and RFC 6749 wants its own error format and duplicate-parameter rule.
  app.openAPIRegistry.registerPath(oauthTokenRoute);
  app.post('/oauth/token', async (c) => {
    try {
      return await exchange(c);
    } catch (err) {
      if (err instanceof OAuthError) return oauthErrorResponse(err);
      if (err instanceof BrokerError) {
        const mapped = fromBroker(err);
        if (mapped !== undefined) return oauthErrorResponse(mapped);
      }
      throw err;
    }
  });
}
