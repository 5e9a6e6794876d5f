import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { RequestContext } from '../broker.js';

/** The caller's address; `X-Forwarded-For` is believed only behind a trusted proxy. */
export function clientIp(c: Context): string | undefined {
  if (c.get('services')?.trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
    if (forwarded) return forwarded.slice(0, 64);
  }
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

/** The request id and caller address that the Broker stamps on events. */
export function requestContext(c: Context): RequestContext {
  const ip = clientIp(c);
  return ip === undefined
    ? { requestId: c.get('requestId') }
    : { requestId: c.get('requestId'), ip };
}
