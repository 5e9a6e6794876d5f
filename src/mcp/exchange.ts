import type { McpCaller } from './guard.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
const TOKEN_TYPE_CREDENTIAL = 'urn:jit-broker:params:oauth:token-type:credential';

export interface DownstreamRequest {
  /** The broker's base URL, where `POST /oauth/token` is. */
  brokerUrl: string;
  /** This server's own workload identity JWT (the RFC 8693 `subject_token`). */
  subjectToken: () => string | Promise<string>;
  /** The verified caller: its token goes to the broker as `actor_token`, nowhere else. */
  caller: McpCaller;
  /** The broker target to get a credential for. */
  target: string;
  /** The broker's scope string (`repositories=acme/api permissions.contents=read`). */
  scope: string;
  /** The task the credential is bound to; use `mcpTaskId` so it belongs to this request. */
  task: { id: string; intent: string; tool?: string };
  fetch?: typeof fetch;
}

export interface DownstreamCredential<C = unknown> {
  /** The bearer token, for targets whose credential is one (an API token). */
  readonly accessToken: string | undefined;
  /** The provider's credential object, for targets whose credential is not a bearer token. */
  readonly credential: C | undefined;
  readonly leaseId: string;
  readonly expiresAt: Date;
  readonly taskId: string;
}

/** The broker refused or could not be reached; carries the RFC 6749 error code only. */
export class DownstreamExchangeError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(`the broker refused the token exchange (${status} ${code})`);
    this.name = 'DownstreamExchangeError';
  }
}

/**
 * RFC 8693 token exchange for a downstream credential on behalf of the caller: this server
 * is the subject (its own identity), the caller's token is the `actor_token`, so the lease
 * and its events name both, and the caller's token never leaves for the downstream API
 * (the MCP spec forbids token passthrough).
 */
export async function exchangeForDownstream<C = unknown>(
  request: DownstreamRequest,
): Promise<DownstreamCredential<C>> {
  const form = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE,
    subject_token: await request.subjectToken(),
    subject_token_type: TOKEN_TYPE_JWT,
    actor_token: request.caller.token,
    actor_token_type: TOKEN_TYPE_JWT,
    resource: request.target,
    scope: request.scope,
    task_id: request.task.id,
    task_intent: request.task.intent,
  });
  if (request.task.tool !== undefined) form.set('task_tool', request.task.tool);
  const url = `${request.brokerUrl.replace(/\/+$/, '')}/oauth/token`;
  let response: Response;
  try {
    response = await (request.fetch ?? globalThis.fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form,
      redirect: 'error',
    });
  } catch {
    throw new DownstreamExchangeError(0, 'network_error');
  }
  const body = (await response.json().catch(() => undefined)) as
    | Record<string, unknown>
    | undefined;
  if (!response.ok || body === undefined) {
    // Only the error code is kept: a body could echo what was sent.
    const code =
      typeof body?.error === 'string' && /^[a-z_]{1,64}$/.test(body.error)
        ? body.error
        : 'http_error';
    throw new DownstreamExchangeError(response.status, code);
  }
  const token = body.access_token;
  const leaseId = body.lease_id;
  const expiresAt = body.expires_at;
  if (typeof token !== 'string' || typeof leaseId !== 'string' || typeof expiresAt !== 'string')
    throw new DownstreamExchangeError(response.status, 'invalid_response');
  const common = { leaseId, expiresAt: new Date(expiresAt), taskId: request.task.id };
  if (body.issued_token_type !== TOKEN_TYPE_CREDENTIAL)
    return { accessToken: token, credential: undefined, ...common };
  try {
    return { accessToken: undefined, credential: JSON.parse(token) as C, ...common };
  } catch {
    throw new DownstreamExchangeError(response.status, 'invalid_response');
  }
}
