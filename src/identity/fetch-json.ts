import { readBounded } from '../lib/bounded-body.js';

/**
 * The only way the identity layer talks to the network: JWKS and discovery documents. An
 * issuer's keys decide who the broker believes, so every fetch is pinned to HTTPS (plain
 * HTTP only to loopback, when the issuer allows it), follows no redirect (a redirect could
 * hand key selection to another origin), and is capped in size and time so a slow or huge
 * answer cannot stall verification.
 */

export const MAX_DOCUMENT_BYTES = 512 * 1024;
export const FETCH_TIMEOUT_MS = 5_000;

/** The part of `fetch` the identity layer uses; `trusting-fetch.ts` provides one with a CA. */
export type FetchLike = (url: URL, init: RequestInit) => Promise<Response>;

export interface FetchPolicy {
  readonly fetch: FetchLike;
  readonly allowInsecureLoopback: boolean;
  readonly maxBytes?: number;
  readonly timeoutMs?: number;
  /**
   * Sent as `Authorization: Bearer` (in-cluster Kubernetes). A function, because projected
   * service-account tokens rotate on disk; never part of an error message.
   */
  readonly bearerToken?: (() => string) | undefined;
}

/** A POST with a JSON body (TokenReview); the body is never part of an error message. */
export interface JsonPost {
  readonly method: 'POST';
  readonly body: unknown;
}

function isLoopbackHost(hostname: string): boolean {
  // WHATWG URL normalises `127.1` and friends to dotted quads and wraps IPv6 in brackets.
  return hostname === 'localhost' || hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

/** Parses and checks a key-source URL; throws TypeError so config mistakes fail at start. */
export function fetchableUrl(raw: string, allowInsecureLoopback: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError(`not a URL: ${raw}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError(`URL must not carry credentials: ${url.origin}`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && allowInsecureLoopback && isLoopbackHost(url.hostname)) return url;
  throw new TypeError(
    allowInsecureLoopback
      ? `only https, or http to loopback, is allowed: ${url.origin}`
      : `only https is allowed: ${url.origin}`,
  );
}

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new Error(`response larger than ${maxBytes} bytes`);
  }
  const text = await readBounded(response.body, maxBytes);
  if (text === null) throw new Error(`response larger than ${maxBytes} bytes`);
  return text;
}

/** GETs (or POSTs for) a JSON object. Throws a plain Error naming the URL, never a token. */
export async function fetchJson(
  raw: string,
  policy: FetchPolicy,
  post?: JsonPost,
): Promise<Record<string, unknown>> {
  const url = fetchableUrl(raw, policy.allowInsecureLoopback);
  const where = `${url.origin}${url.pathname}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  let response: Response;
  try {
    if (policy.bearerToken !== undefined) headers.authorization = `Bearer ${policy.bearerToken()}`;
    if (post !== undefined) headers['content-type'] = 'application/json';
    response = await policy.fetch(url, {
      method: post?.method ?? 'GET',
      redirect: 'manual',
      headers,
      ...(post === undefined ? {} : { body: JSON.stringify(post.body) }),
      signal: AbortSignal.timeout(policy.timeoutMs ?? FETCH_TIMEOUT_MS),
    });
  } catch (cause) {
    throw new Error(`fetching ${where} failed: ${(cause as Error).message}`);
  }
  if (response.status !== 200 && !(post !== undefined && response.status === 201)) {
    await response.body?.cancel();
    throw new Error(`fetching ${where} answered ${response.status} (redirects are not followed)`);
  }
  let document: unknown;
  try {
    document = JSON.parse(await readCapped(response, policy.maxBytes ?? MAX_DOCUMENT_BYTES));
  } catch (cause) {
    throw new Error(`reading ${where} failed: ${(cause as Error).message}`);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new Error(`${where} is not a JSON object`);
  }
  return document as Record<string, unknown>;
}
