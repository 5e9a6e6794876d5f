import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpCaller, McpGuard } from './guard.js';

/**
 * What the MCP SDK's Streamable HTTP transport reads from `req.auth` and hands tool
 * handlers as `extra.authInfo`; the verified caller rides in `extra.caller`.
 */
export interface CallerAuthInfo {
  token: string;
  clientId: string;
  scopes: string[];
  expiresAt: number;
  resource: URL;
  extra: { caller: McpCaller };
}

export type GuardedRequest = IncomingMessage & { auth?: CallerAuthInfo };

/** A SET push is a few hundred bytes: a body past this is refused unread. */
const MAX_PUSH_BYTES = 16_384;

/**
 * A Fetch `Request` with the Node request's method, URL and headers; the body stays unread
 * for the MCP transport, except on the guard's SET push path, where the guard reads it.
 */
async function fetchRequest(
  req: IncomingMessage,
  resource: string,
  ssfPath: string | undefined,
): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const url = new URL(req.url ?? '/', new URL(resource).origin);
  const method = req.method ?? 'GET';
  if (method !== 'POST' || ssfPath === undefined || url.pathname !== ssfPath) {
    return new Request(url, { method, headers });
  }
  return new Request(url, { method, headers, body: await readBody(req) });
}

async function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    // Past the limit nothing more is kept; the guard refuses what it was given.
    if (size > MAX_PUSH_BYTES) return Buffer.alloc(MAX_PUSH_BYTES + 1);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

async function send(res: ServerResponse, response: Response): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(body);
}

/**
 * Node HTTP and Express/Connect: `await guard(req, res)` answers refusals and metadata
 * itself and returns undefined; for a verified caller it sets `req.auth` and returns it.
 * Given `next` (Express), it calls `next()` for a verified caller.
 */
export function nodeMcpGuard(guard: McpGuard) {
  return async function mcpGuard(
    req: GuardedRequest,
    res: ServerResponse,
    next?: (err?: unknown) => void,
  ): Promise<McpCaller | undefined> {
    let caller: McpCaller;
    try {
      const outcome = await guard.check(await fetchRequest(req, guard.resource, guard.ssfPath));
      if (outcome.kind === 'response') {
        await send(res, outcome.response);
        return undefined;
      }
      caller = outcome.caller;
    } catch (err) {
      if (next === undefined) throw err;
      next(err);
      return undefined;
    }
    req.auth = {
      token: caller.token,
      clientId: caller.clientId,
      scopes: [...caller.scopes],
      expiresAt: caller.expiresAt,
      resource: new URL(caller.resource),
      extra: { caller },
    };
    next?.();
    return caller;
  };
}
