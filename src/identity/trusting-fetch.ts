import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import type { FetchLike } from './fetch-json.js';

const NO_BODY = new Set([101, 204, 205, 304]);

function responseFrom(message: IncomingMessage): Response {
  const status = message.statusCode ?? 502;
  const headers = new Headers();
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  if (NO_BODY.has(status)) {
    message.resume();
    return new Response(null, { status, headers });
  }
  const body = Readable.toWeb(message) as unknown as ReadableStream<Uint8Array>;
  return new Response(body, { status, headers });
}

/**
 * A fetch that trusts `ca` (PEM) for TLS, for issuers whose endpoints use a private CA (an
 * in-cluster API server). Node's global fetch takes no per-request CA, so this speaks
 * node:https with its own agent; like the global fetch under `redirect: 'manual'`, it
 * never follows a redirect.
 */
export function trustingFetch(ca: string): FetchLike {
  const agent = new Agent({ ca });
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const options = {
        method: init.method ?? 'GET',
        headers: Object.fromEntries(new Headers(init.headers).entries()),
        ...(init.signal ? { signal: init.signal } : {}),
      };
      const req =
        url.protocol === 'https:'
          ? httpsRequest(url, { ...options, agent })
          : httpRequest(url, options);
      req.once('response', (message) => resolve(responseFrom(message)));
      req.once('error', reject);
      if (typeof init.body === 'string') req.end(init.body);
      else req.end();
    });
}
