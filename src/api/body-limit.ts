import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit as streamingBodyLimit } from 'hono/body-limit';

export interface BodyLimitOptions {
  maxSize: number;
  onError: (c: Context) => Response | Promise<Response>;
}

/**
 * The request body size limit. A body that declares its length (`Content-Length`, no
 * `Transfer-Encoding`) is judged from the header alone, as Hono's own limit does, without
 * touching `c.req.raw.body`: on Node that access turns the request into a full Fetch
 * `Request` with a web stream, where the route's body read would otherwise take the
 * server's direct path. A body of unknown length (chunked) is counted as it streams, by
 * Hono's limit. Node's HTTP parser refuses a body longer than its `Content-Length`.
 */
export function bodyLimit(options: BodyLimitOptions): MiddlewareHandler {
  const streaming = streamingBodyLimit(options);
  const { maxSize, onError } = options;
  return async function limitBody(c, next) {
    const method = c.req.method;
    // No body to count, as Hono's limit finds (a GET or HEAD request has none).
    if (method === 'GET' || method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      return Number.parseInt(length, 10) > maxSize ? onError(c) : next();
    }
    return streaming(c, next);
  };
}
