/**
 * An MCP-style tool server with one tool, `list_tickets(task_id)`, that holds no standing
 * credential: each call asks the broker for a `tickets:read` token bound to the task, uses
 * it once, and revokes it. Speaks just enough JSON-RPC 2.0 (`initialize`, `tools/list`,
 * `tools/call`) over `POST /mcp` to show the shape without an MCP SDK.
 *
 *   npm start                                    # jit-broker dev; note the issuer URL
 *   JIT_DEV_ISSUER=http://127.0.0.1:<port> npx tsx examples/mcp-server/server.ts
 *
 * See README.md next to this file.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import {
  JitBrokerClient,
  JitBrokerError,
  type JwtCredential,
  tokenFile,
} from '../../src/client/index.js';
import { startTicketsApi } from './tickets-api.js';

export interface McpServer {
  url: string;
  close(): Promise<void>;
}

export interface McpServerOptions {
  /** The broker client authenticated as this MCP server's workload (dev: `demo-agent`). */
  broker: JitBrokerClient;
  /** Base URL of the tickets API. */
  ticketsUrl: string;
  /** The broker target for the tickets API (dev: `tickets-api`). */
  target: string;
  port?: number;
}

interface Ticket {
  id: string;
  title: string;
  status: string;
}

type JsonRpcId = string | number | null;

const LIST_TICKETS = {
  name: 'list_tickets',
  description: 'List open tickets, with a read-only credential bound to the given task.',
  inputSchema: {
    type: 'object',
    properties: { task_id: { type: 'string', description: 'The agent task this call serves' } },
    required: ['task_id'],
    additionalProperties: false,
  },
} as const;

const MAX_BODY = 64 * 1024;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function listTickets(options: McpServerOptions, taskId: string): Promise<Ticket[]> {
  return options.broker.withCredential(
    {
      target: options.target,
      scope: { scopes: ['tickets:read'] },
      ttl: 60,
      task: { id: taskId, intent: 'triage', tool: LIST_TICKETS.name },
    },
    async (credential: JwtCredential) => {
      const response = await fetch(`${options.ticketsUrl}/tickets`, {
        headers: { authorization: `Bearer ${credential.token}` },
      });
      if (!response.ok) throw new Error(`the tickets API answered ${response.status}`);
      const body = (await response.json()) as { tickets: Ticket[] };
      return body.tickets;
    },
  );
}

/** A tool failure is a result with `isError` (MCP), not a JSON-RPC error. */
async function callTool(options: McpServerOptions, params: unknown) {
  const { name, arguments: args } = (params ?? {}) as { name?: unknown; arguments?: unknown };
  if (name !== LIST_TICKETS.name) return { error: { code: -32602, message: 'unknown tool' } };
  const taskId = (args as { task_id?: unknown } | undefined)?.task_id;
  if (typeof taskId !== 'string' || taskId === '')
    return { error: { code: -32602, message: 'list_tickets needs task_id' } };
  try {
    const tickets = await listTickets(options, taskId);
    return {
      result: {
        content: [{ type: 'text', text: JSON.stringify(tickets, null, 2) }],
        structuredContent: { tickets },
      },
    };
  } catch (error) {
    // JitBrokerError messages carry the code and request id, never a token.
    const text =
      error instanceof JitBrokerError
        ? `the credential broker refused: ${error.code} (${[
            error.detail,
            ...error.errors.map((e) => e.message),
          ].join('; ')}; request ${error.requestId ?? 'unknown'})`
        : `list_tickets failed: ${error instanceof Error ? error.message : 'unknown error'}`;
    return { result: { content: [{ type: 'text', text }], isError: true } };
  }
}

async function dispatch(options: McpServerOptions, method: unknown, params: unknown) {
  switch (method) {
    case 'initialize':
      return {
        result: {
          protocolVersion: '2025-06-18',
          capabilities: { tools: {} },
          serverInfo: { name: 'tickets-mcp-example', version: '0.1.0' },
        },
      };
    case 'ping':
      return { result: {} };
    case 'tools/list':
      return { result: { tools: [LIST_TICKETS] } };
    case 'tools/call':
      return callTool(options, params);
    default:
      return { error: { code: -32601, message: 'method not found' } };
  }
}

export async function startMcpServer(options: McpServerOptions): Promise<McpServer> {
  const server: Server = createServer((req, res) => {
    const reply = (status: number, body?: unknown) => {
      res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    void (async () => {
      if (req.method !== 'POST' || req.url !== '/mcp') return reply(404, { error: 'POST /mcp' });
      let message: { id?: JsonRpcId; method?: unknown; params?: unknown };
      try {
        message = JSON.parse(await readBody(req)) as typeof message;
      } catch {
        return reply(400, {
          jsonrpc: '2.0',
          id: null,
          error: { code: -32700, message: 'parse error' },
        });
      }
      // A notification (no id) gets no JSON-RPC response.
      if (message.id === undefined) return reply(202);
      const outcome = await dispatch(options, message.method, message.params);
      return reply(200, { jsonrpc: '2.0', id: message.id, ...outcome });
    })().catch(() =>
      reply(500, { jsonrpc: '2.0', id: null, error: { code: -32603, message: 'internal error' } }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** `jit-broker dev` hands out demo workload tokens to anyone on loopback. */
function devIssuerToken(issuer: string, workload: string): () => Promise<string> {
  return async function demoWorkloadToken() {
    const response = await fetch(`${issuer}/token/${workload}`, { method: 'POST' });
    if (!response.ok) throw new Error(`the dev issuer answered ${response.status} for ${workload}`);
    return (await response.text()).trim();
  };
}

function tokenSource(kind: 'agent' | 'api'): () => string | Promise<string> {
  const issuer = process.env.JIT_DEV_ISSUER;
  if (issuer)
    return devIssuerToken(issuer.replace(/\/+$/, ''), kind === 'agent' ? 'demo-agent' : 'demo-api');
  const file = kind === 'agent' ? process.env.AGENT_TOKEN_FILE : process.env.API_TOKEN_FILE;
  if (!file) throw new Error('set JIT_DEV_ISSUER (dev) or AGENT_TOKEN_FILE and API_TOKEN_FILE');
  return tokenFile(file);
}

async function main(): Promise<void> {
  const url = process.env.JIT_BROKER_URL ?? 'http://127.0.0.1:8080';
  const tickets = await startTicketsApi({
    broker: new JitBrokerClient({
      url,
      token: tokenSource('api'),
      userAgent: 'tickets-api-example',
    }),
    port: Number(process.env.TICKETS_PORT ?? 3031),
  });
  const mcp = await startMcpServer({
    broker: new JitBrokerClient({
      url,
      token: tokenSource('agent'),
      userAgent: 'tickets-mcp-example',
    }),
    ticketsUrl: tickets.url,
    target: process.env.JIT_TARGET ?? 'tickets-api',
    port: Number(process.env.PORT ?? 3030),
  });
  console.log(`tickets API (resource server) on ${tickets.url}/tickets`);
  console.log(`MCP tool server on ${mcp.url}/mcp, broker ${url}`);
  const stop = () => {
    void Promise.all([mcp.close(), tickets.close()]).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
