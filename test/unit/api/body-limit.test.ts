import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyLimit } from '../../../src/api/body-limit.js';

const LIMIT = 64;
let server: ServerType;
let port: number;
let handled = 0;

beforeAll(async () => {
  const app = new Hono();
  app.use('*', bodyLimit({ maxSize: LIMIT, onError: (c) => c.json({ code: 'too_large' }, 413) }));
  app.post('/echo', async (c) => {
    handled += 1;
    return c.json({ got: await c.req.json() });
  });
  app.get('/echo', (c) => c.json({ got: null }));
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** One request over a real socket; `chunked` sends the body without a declared length. */
function send(
  method: string,
  body: string | undefined,
  chunked: boolean,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (body !== undefined && !chunked) headers['content-length'] = String(Buffer.byteLength(body));
    const req = httpRequest({ host: '127.0.0.1', port, path: '/echo', method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    if (body !== undefined && chunked) {
      // Two writes: the body arrives as chunks of a body of unknown length.
      const half = Math.floor(body.length / 2);
      req.write(body.slice(0, half));
      req.write(body.slice(half));
    } else if (body !== undefined) {
      req.write(body);
    }
    req.end();
  });
}

const small = JSON.stringify({ a: 'x'.repeat(10) });
const large = JSON.stringify({ a: 'x'.repeat(LIMIT) });

describe('the request body limit', () => {
  it.each([
    ['declared length', false],
    ['chunked', true],
  ] as const)(
    'refuses a body over the limit (%s) before the route runs',
    async (_name, chunked) => {
      const before = handled;
      const res = await send('POST', large, chunked);
      expect(res.status).toBe(413);
      expect(JSON.parse(res.text)).toEqual({ code: 'too_large' });
      expect(handled).toBe(before);
    },
  );

  it.each([
    ['declared length', false],
    ['chunked', true],
  ] as const)(
    'passes a body within the limit to the route, read once (%s)',
    async (_name, chunked) => {
      const res = await send('POST', small, chunked);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toEqual({ got: JSON.parse(small) });
    },
  );

  it('lets a request without a body through', async () => {
    const res = await send('GET', undefined, false);
    expect(res.status).toBe(200);
  });
});
