import type { Introspection } from '../client/types.js';
import type { Refusal } from './refusal.js';
import { type McpSsfOptions, type ResolvedSsfOptions, resolveSsfOptions } from './ssf-receiver.js';

/** Signing algorithms the broker's `jwt` targets use; `none` and HMAC are never accepted. */
export const BROKER_ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'] as const;
export type BrokerAlgorithm = (typeof BROKER_ALGORITHMS)[number];

/** Revocation answers are reused this long at most: a revoked token works no longer. */
export const MAX_REVOCATION_TTL_MS = 30_000;
export const MAX_REVOCATION_ENTRIES = 100_000;

export interface McpGuardOptions {
  /**
   * This MCP server's canonical URI (RFC 8707 §2, MCP authorization): `https://host[:port]/path`,
   * no fragment, no query. Tokens must name exactly it as `aud`.
   */
  resource: string;
  /** The broker's issuer URL (its `public_url`): the `iss` every token must carry. */
  issuer: string;
  /** Where the broker's keys are published. Default `<issuer>/.well-known/jwks.json`. */
  jwksUri?: string;
  /**
   * RFC 7662 introspection of a token at the broker, e.g. `(t) => broker.introspect(t)` with a
   * `JitBrokerClient` that authenticates as this server (a resource server of its audience).
   */
  introspect: (token: string) => Promise<Pick<Introspection, 'active'>>;
  /** Scopes every request needs (all of them). Named in the 401 and 403 challenges. */
  requiredScopes: readonly string[];
  /** Published as `scopes_supported`. Default: `requiredScopes`. */
  scopesSupported?: readonly string[];
  /**
   * Origins a browser may call from (`https://app.example.com`). A request with any other
   * `Origin` is refused 403 (DNS rebinding, MCP transport spec); one without `Origin` (not a
   * browser) passes this check.
   */
  allowedOrigins: readonly string[];
  /** `Host` values accepted. Default: the resource's own host (and port). */
  allowedHosts?: readonly string[];
  /** Default: every algorithm the broker signs with. */
  algorithms?: readonly BrokerAlgorithm[];
  /** How long an introspection answer is reused, in ms. Default 5 000, at most 30 000. */
  revocationCacheTtlMs?: number;
  /** How many answers are kept. Default 1 000, at most 100 000. */
  revocationCacheSize?: number;
  /** Seconds of clock skew allowed on `exp`/`nbf`/`iat`. Default 5. */
  clockToleranceSeconds?: number;
  /** Shown as `resource_name` in the metadata. */
  resourceName?: string;
  /** Called once per refusal, with the reason and the token's hash (for logs and alerts). */
  onRefusal?: (refusal: Refusal) => void;
  /** For the JWKS fetch. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /**
   * Receive the broker's Shared Signals (CAEP SETs pushed over RFC 8935) at `ssf.path`: a
   * revocation drops the cached introspection answers about the tokens it names at once.
   */
  ssf?: McpSsfOptions;
}

export interface ResolvedGuardOptions {
  readonly resource: URL;
  readonly issuer: string;
  readonly jwksUri: URL;
  readonly introspect: McpGuardOptions['introspect'];
  readonly requiredScopes: readonly string[];
  readonly scopesSupported: readonly string[];
  readonly allowedOrigins: ReadonlySet<string>;
  readonly allowedHosts: ReadonlySet<string>;
  readonly algorithms: readonly BrokerAlgorithm[];
  readonly revocationCacheTtlMs: number;
  readonly revocationCacheSize: number;
  readonly clockToleranceSeconds: number;
  readonly resourceName: string | undefined;
  readonly onRefusal: (refusal: Refusal) => void;
  readonly fetch: typeof fetch;
  readonly now: () => number;
  readonly ssf: ResolvedSsfOptions | undefined;
}

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

function httpUrl(name: string, raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError(`mcp guard: ${name} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new TypeError(`mcp guard: ${name} must be http: or https:`);
  if (url.username !== '' || url.password !== '' || url.hash !== '' || url.search !== '')
    throw new TypeError(`mcp guard: ${name} must not carry credentials, a query or a fragment`);
  return url;
}

function bounded(name: string, value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw new TypeError(`mcp guard: ${name} must be an integer from 0 to ${max}`);
  return value;
}

/** The origin of a URL as browsers send it in `Origin` (scheme, host, port if not default). */
function originOf(name: string, raw: string): string {
  const origin = httpUrl(name, raw).origin;
  if (new URL(raw).pathname !== '/' || raw.endsWith('/'))
    throw new TypeError(`mcp guard: ${name} "${raw}" must be an origin, with no path`);
  return origin;
}

/** Bad options are programmer mistakes: TypeError at construction, never per request. */
export function resolveGuardOptions(options: McpGuardOptions): ResolvedGuardOptions {
  const resource = httpUrl('resource', options.resource);
  const issuer = httpUrl('issuer', options.issuer);
  const jwksUri = httpUrl(
    'jwksUri',
    options.jwksUri ?? `${issuer.href.replace(/\/+$/, '')}/.well-known/jwks.json`,
  );
  if (typeof options.introspect !== 'function')
    throw new TypeError('mcp guard: introspect must be a function');
  const requiredScopes = [...options.requiredScopes];
  const scopesSupported = [...(options.scopesSupported ?? requiredScopes)];
  for (const scope of [...requiredScopes, ...scopesSupported]) {
    if (!SCOPE_TOKEN.test(scope))
      throw new TypeError(`mcp guard: "${scope}" is not an RFC 6749 scope token`);
  }
  const algorithms = [...(options.algorithms ?? BROKER_ALGORITHMS)];
  if (algorithms.length === 0 || algorithms.some((a) => !BROKER_ALGORITHMS.includes(a)))
    throw new TypeError(`mcp guard: algorithms must be among ${BROKER_ALGORITHMS.join(', ')}`);
  return {
    resource,
    // RFC 8414 §2 and the broker's own `iss`: compared as a string, exactly as configured.
    issuer: options.issuer,
    jwksUri,
    introspect: options.introspect,
    requiredScopes,
    scopesSupported,
    allowedOrigins: new Set(
      options.allowedOrigins.map((o, i) => originOf(`allowedOrigins[${i}]`, o)),
    ),
    allowedHosts: new Set((options.allowedHosts ?? [resource.host]).map((h) => h.toLowerCase())),
    algorithms,
    revocationCacheTtlMs: bounded(
      'revocationCacheTtlMs',
      options.revocationCacheTtlMs,
      5_000,
      MAX_REVOCATION_TTL_MS,
    ),
    revocationCacheSize: bounded(
      'revocationCacheSize',
      options.revocationCacheSize,
      1_000,
      MAX_REVOCATION_ENTRIES,
    ),
    clockToleranceSeconds: bounded('clockToleranceSeconds', options.clockToleranceSeconds, 5, 300),
    resourceName: options.resourceName,
    onRefusal: options.onRefusal ?? (() => {}),
    fetch: options.fetch ?? globalThis.fetch,
    now: options.now ?? (() => Date.now()),
    ssf: options.ssf === undefined ? undefined : resolveSsfOptions(options.ssf, resource),
  };
}
