import { createHash, timingSafeEqual } from 'node:crypto';
import {
  createRemoteJWKSet,
  customFetch,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { readBounded } from '../lib/bounded-body.js';
import type { TokenHolder } from './revocation-cache.js';

/** CAEP 1.0 events the guard acts on. */
const SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
const CREDENTIAL_CHANGE = 'https://schemas.openid.net/secevent/caep/event-type/credential-change';
const SET_MEDIA_TYPE = 'application/secevent+jwt';
const SET_ALGORITHMS = ['ES256', 'EdDSA', 'RS256'];
/** A SET is a few hundred bytes; anything near this is not one. */
const MAX_SET_BYTES = 16_384;
/** How long the transmitter's metadata may take to answer, body and all. */
const DISCOVERY_TIMEOUT_MS = 5_000;
/** After a failed discovery, pushes are answered 503 this long without asking again. */
const DISCOVERY_RETRY_MS = 1_000;

export interface McpSsfOptions {
  /**
   * The transmitter's `issuer` (the broker's `ssf.issuer`, by default its URL): every SET
   * must carry exactly it, and its metadata must name it.
   */
  issuer: string;
  /** The `aud` the broker's receiver entry gives this server. Default: the resource URI. */
  audience?: string;
  /** The path SETs are pushed to. Default `/ssf/events`. */
  path?: string;
  /** The `Authorization` value every push must carry (the receiver entry's `authorization`). */
  authorization?: string;
  /** SETs issued longer ago than this are refused, in seconds. Default 300, at most 3600. */
  maxAgeSeconds?: number;
  /** How many SET `jti`s are remembered to refuse a replay. Default 10 000, at most 1 000 000. */
  jtiCacheSize?: number;
}

export interface ResolvedSsfOptions {
  readonly issuer: string;
  readonly configurationUrl: URL;
  readonly audience: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly maxAgeSeconds: number;
  readonly jtiCacheSize: number;
}

/** What a verified SET asks the guard to forget. */
export interface RevocationSignal {
  readonly event: 'session-revoked' | 'credential-change';
  readonly workload: string;
  readonly leaseId?: string;
  readonly taskId?: string;
}

/** SSF 1.0: the well-known name goes between the host and the issuer's path. */
function configurationUrlOf(issuer: URL): URL {
  const path = issuer.pathname.replace(/\/+$/, '');
  return new URL(`/.well-known/ssf-configuration${path}`, issuer.origin);
}

export function resolveSsfOptions(options: McpSsfOptions, resource: URL): ResolvedSsfOptions {
  let issuer: URL;
  try {
    issuer = new URL(options.issuer);
  } catch {
    throw new TypeError('mcp guard: ssf.issuer is not a URL');
  }
  if (issuer.protocol !== 'https:' && issuer.protocol !== 'http:')
    throw new TypeError('mcp guard: ssf.issuer must be http: or https:');
  const path = options.path ?? '/ssf/events';
  if (!path.startsWith('/') || path.includes('?') || path.includes('#'))
    throw new TypeError('mcp guard: ssf.path must be an absolute path');
  // A push path that is the MCP endpoint would take every MCP request for a SET.
  if (path === resource.pathname)
    throw new TypeError('mcp guard: ssf.path must not be the resource path');
  const maxAge = options.maxAgeSeconds ?? 300;
  if (!Number.isInteger(maxAge) || maxAge < 1 || maxAge > 3_600)
    throw new TypeError('mcp guard: ssf.maxAgeSeconds must be an integer from 1 to 3600');
  if (options.authorization !== undefined && options.authorization.length === 0)
    throw new TypeError('mcp guard: ssf.authorization must not be empty');
  const size = options.jtiCacheSize ?? 10_000;
  if (!Number.isInteger(size) || size < 1 || size > 1_000_000)
    throw new TypeError('mcp guard: ssf.jtiCacheSize must be an integer from 1 to 1000000');
  return {
    issuer: options.issuer,
    configurationUrl: configurationUrlOf(issuer),
    audience: options.audience ?? resource.href,
    path,
    authorization: options.authorization,
    maxAgeSeconds: maxAge,
    jtiCacheSize: size,
  };
}

/** RFC 8935 §2.3 error codes. */
type PushError =
  | 'invalid_request'
  | 'invalid_key'
  | 'invalid_issuer'
  | 'invalid_audience'
  | 'authentication_failed'
  | 'access_denied';

class SetRefused extends Error {
  constructor(
    readonly err: PushError,
    message: string,
    readonly status: 400 | 401 | 403 = 400,
  ) {
    super(message);
  }
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

function refusal(err: PushError, description: string, status: number): Response {
  return new Response(JSON.stringify({ err, description }), { status, headers: JSON_HEADERS });
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Receives SETs pushed by the broker (RFC 8935) for an MCP server: checks the push's
 * `Authorization` when one is configured, the media type, the signature against the key
 * named by the transmitter's metadata (fetched once, cached, its `issuer` pinned), `typ`
 * `secevent+jwt`, `iss`, `aud`, a fresh `iat` and a `jti` not seen before; answers 202, or
 * 400/401 with the RFC 8935 error JSON; and hands each CAEP `session-revoked` or
 * `credential-change` to `onSignal`.
 */
export function setReceiver(
  options: ResolvedSsfOptions,
  io: {
    fetch: typeof fetch;
    now: () => number;
    clockToleranceSeconds: number;
    discoveryTimeoutMs?: number;
  },
  onSignal: (signal: RevocationSignal) => void,
) {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  let failedAt: number | undefined;
  const seen = new Map<string, number>();
  const expected = options.authorization === undefined ? undefined : digest(options.authorization);

  // Anyone who can reach the push path can make the guard discover: a failure is not asked
  // again for a while, so pushes cannot turn into a stream of requests to the transmitter.
  const keySet = (): Promise<JWTVerifyGetKey> => {
    if (keys === undefined && failedAt !== undefined && io.now() - failedAt < DISCOVERY_RETRY_MS)
      return Promise.reject(new Error('ssf metadata: retrying later'));
    keys ??= discover(options, io.fetch, io.discoveryTimeoutMs ?? DISCOVERY_TIMEOUT_MS).catch(
      (err: unknown) => {
        keys = undefined;
        failedAt = io.now();
        throw err;
      },
    );
    return keys;
  };

  const remember = (jti: string, iat: number): boolean => {
    const now = io.now() / 1000;
    // A jti older than the freshness bound can no longer be replayed: its `iat` is stale.
    for (const [id, at] of seen) {
      if (at >= now - options.maxAgeSeconds - io.clockToleranceSeconds) break;
      seen.delete(id);
    }
    if (seen.has(jti)) return false;
    while (seen.size >= options.jtiCacheSize) {
      const oldest = seen.keys().next();
      if (oldest.done === true) break;
      seen.delete(oldest.value);
    }
    seen.set(jti, iat);
    return true;
  };

  async function verify(request: Request): Promise<JWTPayload> {
    if (expected !== undefined) {
      const given = request.headers.get('authorization');
      if (given === null || !timingSafeEqual(digest(given), expected))
        throw new SetRefused('authentication_failed', 'the push is not authorized', 401);
    }
    const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== SET_MEDIA_TYPE)
      throw new SetRefused('invalid_request', `the body must be ${SET_MEDIA_TYPE}`);
    const length = Number(request.headers.get('content-length') ?? '0');
    if (length > MAX_SET_BYTES) throw new SetRefused('invalid_request', 'the SET is too large');
    const body = await readBounded(request.body, MAX_SET_BYTES);
    if (body === null) throw new SetRefused('invalid_request', 'the SET is too large');
    const token = body.trim();
    let getKey: JWTVerifyGetKey;
    try {
      getKey = await keySet();
    } catch {
      throw new Unavailable();
    }
    try {
      const { payload } = await jwtVerify(token, getKey, {
        algorithms: SET_ALGORITHMS,
        issuer: options.issuer,
        audience: options.audience,
        typ: 'secevent+jwt',
        maxTokenAge: options.maxAgeSeconds,
        clockTolerance: io.clockToleranceSeconds,
        currentDate: new Date(io.now()),
        requiredClaims: ['iat', 'jti'],
      });
      return payload;
    } catch (err) {
      throw refusalOf(err);
    }
  }

  return {
    path: options.path,
    async receive(request: Request): Promise<Response> {
      let payload: JWTPayload;
      try {
        payload = await verify(request);
      } catch (err) {
        if (err instanceof Unavailable) {
          return new Response(JSON.stringify({ error: 'temporarily_unavailable' }), {
            status: 503,
            headers: { ...JSON_HEADERS, 'retry-after': '1' },
          });
        }
        if (err instanceof SetRefused) return refusal(err.err, err.message, err.status);
        throw err;
      }
      const signals = signalsOf(payload);
      if (signals === undefined)
        return refusal('invalid_request', 'the SET has no events the receiver can read', 400);
      if (!remember(payload.jti as string, payload.iat as number))
        return refusal('invalid_request', 'this SET (jti) was already received', 400);
      for (const signal of signals) onSignal(signal);
      return new Response(null, { status: 202 });
    },
  };
}

class Unavailable extends Error {}

/** A transmitter's metadata document is a few hundred bytes; more is not read. */
const MAX_METADATA_BYTES = 16_384;

async function discover(options: ResolvedSsfOptions, fetcher: typeof fetch, timeoutMs: number) {
  const response = await fetcher(options.configurationUrl, {
    headers: { accept: 'application/json' },
    redirect: 'error',
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new Error(`ssf metadata: http ${response.status}`);
  const text = await readBounded(response.body, MAX_METADATA_BYTES);
  if (text === null) throw new Error('ssf metadata: larger than 16 KiB');
  const metadata = JSON.parse(text) as { issuer?: unknown; jwks_uri?: unknown };
  // The metadata must be the pinned transmitter's own, or its keys prove nothing.
  if (metadata.issuer !== options.issuer) throw new Error('ssf metadata names another issuer');
  if (typeof metadata.jwks_uri !== 'string') throw new Error('ssf metadata has no jwks_uri');
  const jwksUri = new URL(metadata.jwks_uri);
  // No weaker transport for the keys than for the metadata that names them.
  const scheme = new URL(options.issuer).protocol;
  if (jwksUri.protocol !== 'https:' && (jwksUri.protocol !== 'http:' || scheme === 'https:'))
    throw new Error('ssf metadata: jwks_uri must be https');
  return createRemoteJWKSet(jwksUri, {
    [customFetch]: (url, init) => fetcher(url, init),
    cooldownDuration: 30_000,
    cacheMaxAge: 600_000,
  });
}

function refusalOf(err: unknown): SetRefused {
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return new SetRefused('invalid_issuer', 'the SET has another issuer');
    if (err.claim === 'aud')
      return new SetRefused('invalid_audience', 'the SET is for another audience');
    if (err.claim === 'typ') return new SetRefused('invalid_request', 'the token is not a SET');
    return new SetRefused('invalid_request', `the SET's "${err.claim}" claim is not acceptable`);
  }
  if (err instanceof errors.JWTExpired)
    return new SetRefused('invalid_request', 'the SET is stale');
  if (
    err instanceof errors.JWSSignatureVerificationFailed ||
    err instanceof errors.JWKSNoMatchingKey ||
    err instanceof errors.JWKSMultipleMatchingKeys ||
    err instanceof errors.JOSEAlgNotAllowed
  )
    return new SetRefused('invalid_key', 'the SET signature does not verify');
  return new SetRefused('invalid_request', 'the SET is not valid');
}

const opaqueId = (value: unknown): string | undefined => {
  const id = (value as { format?: unknown; id?: unknown } | undefined)?.id;
  return typeof id === 'string' && id !== '' ? id : undefined;
};

/**
 * The revocations a SET names, or undefined when it names none the guard can act on. The
 * broker's `jit` claim says which ids are which; without it, the complex subject's
 * `application` is the workload and its `session` the lease.
 */
function signalsOf(payload: JWTPayload): RevocationSignal[] | undefined {
  const events = payload.events;
  if (typeof events !== 'object' || events === null) return undefined;
  const kinds: RevocationSignal['event'][] = [];
  if (SESSION_REVOKED in events) kinds.push('session-revoked');
  if (CREDENTIAL_CHANGE in events) kinds.push('credential-change');
  if (kinds.length === 0) return undefined;
  const holder = holderOf(payload);
  if (holder === undefined) return undefined;
  return kinds.map((event) => ({ event, ...holder }));
}

function holderOf(
  payload: JWTPayload,
): Pick<RevocationSignal, 'workload' | 'leaseId' | 'taskId'> | undefined {
  const jit = payload.jit as Record<string, unknown> | undefined;
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const subject = payload.sub_id as Record<string, unknown> | undefined;
  const workload = text(jit?.workload) ?? opaqueId(subject?.application);
  if (workload === undefined) return undefined;
  const leaseId = jit === undefined ? opaqueId(subject?.session) : text(jit.lease_id);
  const taskId = text(jit?.task_id);
  return {
    workload,
    ...(leaseId === undefined ? {} : { leaseId }),
    ...(taskId === undefined ? {} : { taskId }),
  };
}

/** Whether a signal names the holder of a cached answer. */
export function namesHolder(signal: RevocationSignal, holder: TokenHolder): boolean {
  if (holder.workload !== signal.workload) return false;
  if (signal.leaseId !== undefined) return holder.leaseId === signal.leaseId;
  if (signal.taskId !== undefined) return holder.taskId === signal.taskId;
  return true;
}
