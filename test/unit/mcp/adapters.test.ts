import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type GuardedRequest,
  honoMcpGuard,
  type McpCaller,
  nodeMcpGuard,
} from '../../../src/mcp/index.js';
import { brokerWithKey, type FakeBroker, type SigningKey } from './support.js';

let broker: FakeBroker;
let key: SigningKey;
let server: Server | undefined;

beforeEach(async () => {
  ({ broker, key } = await brokerWithKey());
});
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe('Node HTTP adapter', () => {
  /** A real socket: the guard sees Node's headers, and the body is left for the handler. */
  async function listen() {
    const seen: { auth?: GuardedRequest['auth']; body: string }[] = [];
    let url = '';
    const http = createServer(async (req: GuardedRequest, res) => {
      const guard = nodeMcpGuard(
        broker.guard({ resource: `${url}/mcp`, allowedHosts: [new URL(url).host] }),
      );
      const caller = await guard(req, res);
      if (caller === undefined) return;
      let body = '';
      for await (const chunk of req) body += chunk;
      seen.push({ auth: req.auth, body });
      res.end('ok');
    });
    server = http;
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    return { url, seen };
  }

  it('sets req.auth for a verified caller and leaves the body unread', async () => {
    const { url, seen } = await listen();
    const token = await broker.token(key, { aud: `${url}/mcp` });
    const res = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: '{"jsonrpc":"2.0"}',
    });
    expect(res.status).toBe(200);
    expect(seen[0]?.body).toBe('{"jsonrpc":"2.0"}');
    expect(seen[0]?.auth).toMatchObject({ clientId: 'agent-a', scopes: ['files:read'], token });
    expect(seen[0]?.auth?.resource.href).toBe(`${url}/mcp`);
  });

  it('answers refusals and metadata itself', async () => {
    const { url, seen } = await listen();
    const refused = await fetch(`${url}/mcp`, { method: 'POST', body: '{}' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain(
      `resource_metadata="${url}/.well-known/oauth-protected-resource/mcp"`,
    );
    const metadata = await fetch(`${url}/.well-known/oauth-protected-resource/mcp`);
    expect(((await metadata.json()) as { resource: string }).resource).toBe(`${url}/mcp`);
    const foreign = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
    expect(seen).toEqual([]);
  });

  it('with next (Express), calls next only for a verified caller', async () => {
    const guard = nodeMcpGuard(broker.guard());
    const calls: unknown[] = [];
    const written: number[] = [];
    const res = {
      writeHead: (status: number) => written.push(status),
      end: () => {},
    } as unknown as Parameters<typeof guard>[1];
    const req = {
      method: 'POST',
      url: '/mcp',
      headers: { host: 'mcp.test.example' },
    } as GuardedRequest;
    await guard(req, res, (err) => calls.push(err));
    expect(calls).toEqual([]);
    expect(written).toEqual([401]);
    const authorized = {
      ...req,
      headers: { ...req.headers, authorization: `Bearer ${await broker.token(key)}` },
    } as GuardedRequest;
    await guard(authorized, res, (err) => calls.push(err));
    expect(calls).toEqual([undefined]);
    expect(authorized.auth?.clientId).toBe('agent-a');
  });
});

describe('Hono adapter', () => {
  function app() {
    const callers: McpCaller[] = [];
    const hono = new Hono();
    hono.use('*', honoMcpGuard(broker.guard()));
    hono.post('/mcp', (c) => {
      callers.push(c.get('mcpCaller'));
      return c.text('ok');
    });
    return { hono, callers };
  }

  it('puts the verified caller in the context', async () => {
    const { hono, callers } = app();
    const token = await broker.token(key);
    const res = await hono.request('https://mcp.test.example/mcp', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, host: 'mcp.test.example' },
    });
    expect(res.status).toBe(200);
    expect(callers.map((c) => c.subject)).toEqual(['agent-a']);
  });

  it('stops a refused request before the handler', async () => {
    const { hono, callers } = app();
    const token = await broker.token(key, { scope: 'other' });
    const res = await hono.request('https://mcp.test.example/mcp', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(403);
    expect(callers).toEqual([]);
  });
});

describe('Fetch-style guard.fetch', () => {
  it('runs the handler only for a verified caller', async () => {
    const guard = broker.guard();
    const handled: string[] = [];
    const handler = (_request: Request, caller: McpCaller) => {
      handled.push(caller.subject);
      return new Response('ok');
    };
    const refused = await guard.fetch(
      new Request('https://mcp.test.example/mcp', { method: 'POST' }),
      handler,
    );
    expect(refused.status).toBe(401);
    const token = await broker.token(key);
    const served = await guard.fetch(
      new Request('https://mcp.test.example/mcp', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      }),
      handler,
    );
    expect(await served.text()).toBe('ok');
    expect(handled).toEqual(['agent-a']);
  });
});
