import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { OperatorPrincipal, Principal } from '../identity/types.js';
import type { Caller } from '../lib/caller.js';

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

/** The request id, address and operator that the Broker stamps on events. */
export function requestContext(c: Context): Caller {
  const sourceIp = clientIp(c);
  // Set by the auth middleware before any handler runs; absent on unauthenticated routes.
  const principal: Principal | undefined = c.get('principal');
  return {
    requestId: c.get('requestId'),
    ...(sourceIp === undefined ? {} : { sourceIp }),
    ...(principal?.kind === 'operator' ? { actor: operatorName(principal) } : {}),
  };
}

/** How events name an operator: a break-glass token is never mistaken for the person. */
export function operatorName(by: OperatorPrincipal): string {
  return by.via === 'break_glass' ? `break-glass:${by.name}` : by.name;
}
