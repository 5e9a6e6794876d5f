import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { OperatorPrincipal, Principal } from '../identity/types.js';
import type { Caller } from '../lib/caller.js';

/**
 * The caller's address: the connection's peer, or the right-most `X-Forwarded-For` entry
 * that is not a trusted proxy (`server.trust_proxy`, see src/lib/forwarded.ts).
 */
export function clientIp(c: Context): string | undefined {
  let peer: string | undefined;
  try {
    peer = getConnInfo(c).remote.address;
  } catch {
    peer = undefined;
  }
  const resolve = c.get('services')?.clientAddress;
  return resolve === undefined ? peer : resolve(peer, c.req.header('x-forwarded-for'));
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
