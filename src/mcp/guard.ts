import { createHash } from 'node:crypto';
import { accessTokenVerifier, type VerifiedAccessToken } from './access-token.js';
import { bearerChallenge } from './challenge.js';
import { metadataPaths, metadataUrl, protectedResourceMetadata } from './metadata.js';
import { type McpGuardOptions, type ResolvedGuardOptions, resolveGuardOptions } from './options.js';
import { originRefusal } from './origin.js';
import { type RefusalReason, TokenRefused } from './refusal.js';
import { RevocationCache, type TokenHolder } from './revocation-cache.js';
import { namesHolder, setReceiver } from './ssf-receiver.js';

/** The verified caller handed to the MCP handler. */
export interface McpCaller extends VerifiedAccessToken {
  /** The bearer token, for an RFC 8693 exchange as `actor_token` only: never pass it on. */
  readonly token: string;
  /** This server's canonical URI, the token's audience. */
  readonly resource: string;
}

export type GuardOutcome =
  | { readonly kind: 'caller'; readonly caller: McpCaller }
  | { readonly kind: 'response'; readonly response: Response };

export interface McpGuard {
  /**
   * Decides one request: metadata documents and refusals are a `response` to send as is;
   * otherwise the verified `caller`. Only the method, URL and headers are read: the body
   * is left for the MCP transport.
   */
  check(request: Request): Promise<GuardOutcome>;
  /** Fetch-style wrapper: `handler` runs only for a verified caller. */
  fetch(
    request: Request,
    handler: (request: Request, caller: McpCaller) => Response | Promise<Response>,
  ): Promise<Response>;
  readonly resource: string;
  readonly metadataUrl: string;
  /** Where the broker pushes SETs, when `ssf` is set (adapters pass that request's body). */
  readonly ssfPath: string | undefined;
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');

export function createMcpGuard(input: McpGuardOptions): McpGuard {
  const options = resolveGuardOptions(input);
  const verify = accessTokenVerifier(options);
  const cache = new RevocationCache(
    options.revocationCacheTtlMs,
    options.revocationCacheSize,
    options.now,
  );
  const paths = metadataPaths(options.resource);
  const challengeUrl = metadataUrl(options.resource);
  const metadata = JSON.stringify(protectedResourceMetadata(options));
  const receiver =
    options.ssf === undefined
      ? undefined
      : setReceiver(
          options.ssf,
          {
            fetch: options.fetch,
            now: options.now,
            clockToleranceSeconds: options.clockToleranceSeconds,
          },
          (signal) => cache.forget((holder) => namesHolder(signal, holder)),
        );

  const refuse = (
    reason: RefusalReason,
    status: 401 | 403 | 503,
    token: string | undefined,
    description: string,
  ): GuardOutcome => {
    options.onRefusal({
      reason,
      status,
      ...(token === undefined ? {} : { tokenHash: sha256(token) }),
    });
    return {
      kind: 'response',
      response: refusalResponse(options, challengeUrl, reason, status, description),
    };
  };

  async function check(request: Request): Promise<GuardOutcome> {
    const url = new URL(request.url);
    // Server to server, and proven by the SET's signature: no Origin or bearer check.
    if (receiver !== undefined && request.method === 'POST' && url.pathname === receiver.path) {
      return { kind: 'response', response: await receiver.receive(request) };
    }
    if (
      request.method === 'GET' &&
      (url.pathname === paths.pathForm || url.pathname === paths.rootForm)
    ) {
      // Public by design (RFC 9728 §3): no Origin check, and any page may read it.
      return {
        kind: 'response',
        response: new Response(metadata, {
          status: 200,
          headers: {
            'content-type': 'application/json',
            'cache-control': 'public, max-age=300',
            'access-control-allow-origin': '*',
          },
        }),
      };
    }
    const foreign = originRefusal(request, options);
    if (foreign !== undefined)
      return refuse(foreign, 403, undefined, 'this origin may not call the server');

    const header = request.headers.get('authorization');
    if (header === null) return refuse('no_token', 401, undefined, 'a bearer token is required');
    const token = BEARER.exec(header)?.[1];
    if (token === undefined)
      return refuse('malformed', 401, undefined, 'the Authorization header is not a bearer token');

    let verified: VerifiedAccessToken;
    try {
      verified = await verify(token);
      const active = await cache.isActive(
        sha256(token),
        verified.expiresAt * 1000,
        async () => {
          try {
            return (await options.introspect(token)).active === true;
          } catch {
            throw new TokenRefused(
              'introspection_unavailable',
              'the broker could not confirm the token',
            );
          }
        },
        holderOf(verified),
      );
      if (!active) throw new TokenRefused('revoked', 'the token has been revoked');
    } catch (err) {
      if (!(err instanceof TokenRefused)) throw err;
      const status = err.reason === 'introspection_unavailable' ? 503 : 401;
      return refuse(err.reason, status, token, err.message);
    }
    const missing = options.requiredScopes.filter((s) => !verified.scopes.includes(s));
    if (missing.length > 0)
      return refuse('insufficient_scope', 403, token, `the token lacks ${missing.join(' ')}`);
    return { kind: 'caller', caller: { ...verified, token, resource: options.resource.href } };
  }

  return {
    check,
    async fetch(request, handler) {
      const outcome = await check(request);
      return outcome.kind === 'response' ? outcome.response : handler(request, outcome.caller);
    },
    resource: options.resource.href,
    metadataUrl: challengeUrl,
    ssfPath: receiver?.path,
  };
}

/** Who holds a verified token, as a revocation signal names it. */
function holderOf(token: VerifiedAccessToken): TokenHolder {
  const task = token.claims.task as { id?: unknown } | undefined;
  return {
    leaseId: token.leaseId,
    workload: token.subject,
    ...(typeof task?.id === 'string' ? { taskId: task.id } : {}),
  };
}

/**
 * 401 for who-are-you (no token, a bad one), 403 for not-allowed (origin, scope), 503 when
 * the broker cannot confirm the token: a guard that cannot check revocation refuses.
 */
function refusalResponse(
  options: ResolvedGuardOptions,
  resourceMetadata: string,
  reason: RefusalReason,
  status: 401 | 403 | 503,
  description: string,
): Response {
  if (reason === 'foreign_origin' || reason === 'foreign_host') {
    return new Response(
      JSON.stringify({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32000, message: `Forbidden: ${description}` },
      }),
      { status, headers: JSON_HEADERS },
    );
  }
  if (status === 503) {
    return new Response(
      JSON.stringify({ error: 'temporarily_unavailable', error_description: description }),
      {
        status,
        headers: { ...JSON_HEADERS, 'retry-after': '1' },
      },
    );
  }
  // RFC 6750 §3.1: a request without credentials gets no error code.
  const error =
    reason === 'no_token'
      ? undefined
      : reason === 'insufficient_scope'
        ? 'insufficient_scope'
        : 'invalid_token';
  const challenge = bearerChallenge({
    resourceMetadata,
    scope: options.requiredScopes,
    ...(error === undefined ? {} : { error, description }),
  });
  return new Response(
    JSON.stringify(
      error === undefined
        ? { error: 'unauthorized', error_description: description }
        : { error, error_description: description },
    ),
    { status, headers: { ...JSON_HEADERS, 'www-authenticate': challenge } },
  );
}
