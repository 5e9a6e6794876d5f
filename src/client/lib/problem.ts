import {
  JitBrokerError,
  type JitBrokerErrorCode,
  type ProblemFieldError,
  type ProblemReason,
} from '../errors.js';

const MAX_DETAIL = 500;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function reasonsOf(value: unknown): ProblemReason[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const reasons: ProblemReason[] = [];
  for (const r of value) {
    if (!isRecord(r) || typeof r.code !== 'string' || typeof r.message !== 'string') continue;
    reasons.push({
      code: r.code,
      message: r.message,
      ...(typeof r.policy === 'string' ? { policy: r.policy } : {}),
    });
  }
  return reasons;
}

function fieldErrorsOf(value: unknown): ProblemFieldError[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.flatMap((e) =>
    isRecord(e) && typeof e.path === 'string' && typeof e.message === 'string'
      ? [{ path: e.path, message: e.message }]
      : [],
  );
}

/**
 * A `JitBrokerError` from an error response. Only an RFC 9457 document with our `code` is
 * read; any other body (a proxy's HTML page, an echo of the request) is ignored, because it
 * might repeat the Authorization header or the token being introspected.
 */
export function errorFromResponse(
  status: number,
  text: string,
  headers: { requestId: string | undefined; retryAfter: number | undefined },
): JitBrokerError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (isRecord(body) && typeof body.code === 'string' && body.code.length > 0) {
    const detail =
      typeof body.detail === 'string'
        ? body.detail
        : typeof body.title === 'string'
          ? body.title
          : body.code;
    return new JitBrokerError({
      status,
      // A newer broker may send codes this client does not list; they pass through as is.
      code: body.code as JitBrokerErrorCode,
      detail: detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL)}…` : detail,
      requestId: typeof body.request_id === 'string' ? body.request_id : headers.requestId,
      retryAfter: headers.retryAfter,
      reasons: reasonsOf(body.reasons),
      errors: fieldErrorsOf(body.errors),
    });
  }
  return new JitBrokerError({
    status,
    code: 'http_error',
    detail: `unexpected HTTP ${status} response without a problem document`,
    requestId: headers.requestId,
    retryAfter: headers.retryAfter,
  });
}
