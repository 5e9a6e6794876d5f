import { JitBrokerError } from '../errors.js';
import { errorFromResponse } from './problem.js';
import { parseRetryAfter } from './retry-after.js';

export interface RetryOptions {
  /** Attempts in all, the first included. 1 disables retries. Default 3. */
  maxAttempts?: number;
  /** First backoff when the broker sends no `Retry-After`; doubles each time. Default 200. */
  baseDelayMs?: number;
  /** Longest single wait; a longer `Retry-After` is not waited for but thrown. Default 5000. */
  maxDelayMs?: number;
}

export interface Transport {
  baseUrl: string;
  token: () => string | Promise<string>;
  fetch: typeof fetch;
  timeoutMs: number;
  userAgent: string;
  retry: Required<RetryOptions>;
}

export interface Call {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  json?: unknown;
  form?: Record<string, string>;
}

export interface Answer {
  status: number;
  body: unknown;
  requestId: string | undefined;
}

/** Statuses the broker sends when a later attempt may succeed (always with `Retry-After`). */
const RETRYABLE = new Set([429, 503]);
/** A JWT is base64url segments and dots; anything else must not reach a header. */
const BEARER = /^[\x21-\x7e]+$/;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function workloadToken(source: Transport['token']): Promise<string> {
  let token: unknown;
  try {
    token = await source();
  } catch (cause) {
    throw new JitBrokerError({
      status: 0,
      code: 'token_unavailable',
      detail: 'the workload token source failed',
      cause,
    });
  }
  const trimmed = typeof token === 'string' ? token.trim() : '';
  // Checked here because `Headers` quotes an invalid value in its own error message.
  if (!BEARER.test(trimmed)) {
    throw new JitBrokerError({
      status: 0,
      code: 'token_unavailable',
      detail: 'the workload token is empty or contains characters a JWT cannot',
    });
  }
  return trimmed;
}

function transportError(cause: unknown): JitBrokerError {
  const timedOut = cause instanceof Error && cause.name === 'TimeoutError';
  return new JitBrokerError({
    status: 0,
    code: timedOut ? 'timeout' : 'network_error',
    detail: timedOut ? 'the broker did not answer in time' : 'the broker could not be reached',
    cause,
  });
}

/**
 * One broker call. Only 429 and 503 are retried: the broker refused the request before
 * doing anything. A network error or timeout is not retried, since the request may have
 * been carried out (for `POST /v1/credentials`, a lease the caller never saw, which expires
 * at its TTL).
 */
export async function send(t: Transport, call: Call): Promise<Answer> {
  for (let attempt = 1; ; attempt++) {
    const token = await workloadToken(t.token);
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      accept: 'application/json, application/problem+json',
      'user-agent': t.userAgent,
    };
    let body: string | undefined;
    if (call.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(call.json);
    } else if (call.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(call.form).toString();
    }

    let status: number;
    let text: string;
    let responseHeaders: Headers;
    try {
      const signal = AbortSignal.timeout(t.timeoutMs);
      const response = await t.fetch(`${t.baseUrl}${call.path}`, {
        method: call.method,
        headers,
        signal,
        redirect: 'error',
        ...(body === undefined ? {} : { body }),
      });
      status = response.status;
      responseHeaders = response.headers;
      text = await response.text();
    } catch (cause) {
      throw transportError(cause);
    }

    const requestId = responseHeaders.get('x-request-id') ?? undefined;
    if (status >= 200 && status < 300) {
      if (text === '') return { status, body: undefined, requestId };
      try {
        return { status, body: JSON.parse(text) as unknown, requestId };
      } catch {
        // The body is not quoted: on success it may hold a credential.
        throw new JitBrokerError({
          status,
          code: 'invalid_response',
          detail: 'the broker answered with a body that is not JSON',
          requestId,
        });
      }
    }

    const retryAfter = parseRetryAfter(responseHeaders.get('retry-after'));
    const error = errorFromResponse(status, text, { requestId, retryAfter });
    if (!RETRYABLE.has(status) || attempt >= t.retry.maxAttempts) throw error;
    const delay =
      retryAfter === undefined
        ? Math.min(t.retry.baseDelayMs * 2 ** (attempt - 1), t.retry.maxDelayMs)
        : retryAfter * 1000;
    if (delay > t.retry.maxDelayMs) throw error;
    await sleep(delay);
  }
}
