/**
 * An MCP server on the official SDK (Streamable HTTP) with one tool, `read_file(repo, path)`,
 * that holds no GitHub credential. The `jit-broker/mcp` guard checks every request (RFC 9728
 * metadata, the caller's broker-issued token, Origin and Host); each tool call then gets an
 * installation token for that one repository with `contents: read`, through an RFC 8693
 * exchange with the caller's token as `actor_token`, uses it for the call's GitHub requests,
 * and ends the task (revoking the lease) when the call ends. See README.md next to this file.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { JitBrokerClient, tokenFile } from '../../src/client/index.js';
import {
  createMcpGuard,
  DownstreamExchangeError,
  type GuardedRequest,
  type McpCaller,
  type McpGuard,
  mcpTaskId,
  nodeMcpGuard,
  type Refusal,
} from '../../src/mcp/index.js';
import { GithubError, isRepository, readRepositoryFile, safePath } from './github.js';
import { TaskCredentials } from './task-credentials.js';

export const REQUIRED_SCOPE = 'files:read';

export interface GithubMcpServerOptions {
  /** Where this server reaches the broker (token exchange, introspection, ending tasks). */
  brokerUrl: string;
  /** The broker's issuer (its `public_url`); default `brokerUrl`. */
  issuer?: string;
  /** This server's own workload identity JWT, asked for on every broker call. */
  serverToken: () => string | Promise<string>;
  /** The broker target that mints GitHub installation tokens. */
  githubTarget: string;
  /** Default https://api.github.com. */
  githubApiUrl?: string;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The canonical base URL clients use; default `http://<host>:<port>`. The MCP endpoint is `<publicUrl>/mcp`. */
  publicUrl?: string;
  /** Browser origins allowed to call; default none (non-browser clients send no Origin). */
  allowedOrigins?: string[];
  /** Host header values accepted; default the public URL's host. */
  allowedHosts?: string[];
  /** How long an introspection answer is reused (ms); default 5 000. */
  revocationCacheTtlMs?: number;
  /** Task intent the broker's policy allows for `read_file`. Default `read-file`. */
  intent?: string;
  /** Adds tools to every session's server (the conformance run adds its fixtures). */
  extend?: (server: McpServer) => void;
  onRefusal?: (refusal: Refusal) => void;
}

export interface GithubMcpServer {
  /** The MCP endpoint: the resource's canonical URI. */
  readonly url: string;
  /** Where it listens (differs from `url` behind a proxy). */
  readonly address: string;
  readonly guard: McpGuard;
  /** Open sessions (each bound to the caller that opened it). */
  sessionCount(): number;
  close(): Promise<void>;
}

interface Session {
  readonly transport: StreamableHTTPServerTransport;
  /** Who opened the session: only the same caller may use it. */
  readonly owner: string;
  /** Tasks of calls still running, ended with the session if it closes first. */
  readonly tasks: Set<TaskCredentials>;
}

const ownerOf = (caller: McpCaller) => `${caller.claims.iss} ${caller.subject}`;

function jsonRpcError(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message } }));
}

/** What a caller may learn of a failure: a code, never a token or an upstream body. */
function toolError(err: unknown): string {
  if (err instanceof DownstreamExchangeError)
    return `the broker refused the credential (${err.code})`;
  if (err instanceof GithubError) return `GitHub answered ${err.status}`;
  return 'the file could not be read';
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

export async function startGithubMcpServer(
  options: GithubMcpServerOptions,
): Promise<GithubMcpServer> {
  const host = options.host ?? '127.0.0.1';
  const broker = new JitBrokerClient({ url: options.brokerUrl, token: options.serverToken });
  const sessions = new Map<string, Session>();
  const githubApiUrl = options.githubApiUrl ?? 'https://api.github.com';
  const intent = options.intent ?? 'read-file';

  function mcpServerFor(session: () => Session | undefined): McpServer {
    const server = new McpServer({ name: 'jit-broker-github-example', version: '0.1.0' });
    server.registerTool(
      'read_file',
      {
        description:
          'Read a UTF-8 file from a GitHub repository at its default branch, with a token scoped to that repository only.',
        inputSchema: {
          repo: z.string().describe('owner/name'),
          path: z.string().describe('Path inside the repository'),
        },
        annotations: { readOnlyHint: true, openWorldHint: true },
      },
      async ({ repo, path }, extra) => {
        const caller = (extra.authInfo?.extra as { caller?: McpCaller } | undefined)?.caller;
        const encodedPath = safePath(path);
        if (caller === undefined)
          return { isError: true, content: [{ type: 'text', text: 'unauthenticated' }] };
        if (!isRepository(repo) || encodedPath === undefined)
          return {
            isError: true,
            content: [
              { type: 'text', text: 'repo must be owner/name and path a relative file path' },
            ],
          };
        const task = new TaskCredentials({
          broker,
          brokerUrl: options.brokerUrl,
          serverToken: options.serverToken,
          target: options.githubTarget,
          caller,
          task: { id: mcpTaskId(extra.sessionId, extra.requestId), intent, tool: 'read_file' },
        });
        const open = session();
        open?.tasks.add(task);
        try {
          const token = await task.forRepository(repo);
          const file = await readRepositoryFile(githubApiUrl, token, repo, encodedPath);
          return {
            content: [{ type: 'text', text: file.text }],
            structuredContent: {
              repo,
              path: file.path,
              ref: file.ref,
              sha: file.sha,
              task: task.taskId,
            },
          };
        } catch (err) {
          return { isError: true, content: [{ type: 'text', text: toolError(err) }] };
        } finally {
          open?.tasks.delete(task);
          await task.end().catch(() => {
            // The lease still ends at its expiry; the broker's events say it was not revoked early.
          });
        }
      },
    );
    options.extend?.(server);
    return server;
  }

  async function openSession(req: GuardedRequest, res: ServerResponse, caller: McpCaller) {
    let session: Session | undefined;
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        session = { transport, owner: ownerOf(caller), tasks: new Set() };
        sessions.set(id, session);
      },
    });
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id !== undefined) sessions.delete(id);
      for (const task of session?.tasks ?? []) void task.end().catch(() => {});
    };
    await mcpServerFor(() => session).connect(transport);
    await transport.handleRequest(req, res);
  }

  let guarded: ReturnType<typeof nodeMcpGuard> | undefined;
  const http = createServer(async (req: GuardedRequest, res: ServerResponse) => {
    try {
      if (guarded === undefined) return jsonRpcError(res, 503, 'starting');
      const caller = await guarded(req, res);
      if (caller === undefined) return;
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/mcp')
        return jsonRpcError(res, 404, 'Not found');
      const id = req.headers['mcp-session-id'];
      if (typeof id !== 'string') {
        if (req.method !== 'POST') return jsonRpcError(res, 400, 'Bad Request: no session');
        return await openSession(req, res, caller);
      }
      const session = sessions.get(id);
      // Session ids are not credentials: another caller's session is as good as unknown.
      if (session === undefined || session.owner !== ownerOf(caller))
        return jsonRpcError(res, 404, 'Session not found');
      await session.transport.handleRequest(req, res);
    } catch {
      if (!res.headersSent) jsonRpcError(res, 500, 'Internal error');
    }
  });

  const port = await listen(http, host, options.port ?? 0);
  const publicUrl = (options.publicUrl ?? `http://${host}:${port}`).replace(/\/+$/, '');
  const guard = createMcpGuard({
    resource: `${publicUrl}/mcp`,
    issuer: options.issuer ?? options.brokerUrl,
    jwksUri: `${options.brokerUrl.replace(/\/+$/, '')}/.well-known/jwks.json`,
    introspect: (token) => broker.introspect(token),
    requiredScopes: [REQUIRED_SCOPE],
    allowedOrigins: options.allowedOrigins ?? [],
    ...(options.allowedHosts === undefined ? {} : { allowedHosts: options.allowedHosts }),
    ...(options.revocationCacheTtlMs === undefined
      ? {}
      : { revocationCacheTtlMs: options.revocationCacheTtlMs }),
    resourceName: 'GitHub files (jit-broker example)',
    ...(options.onRefusal === undefined ? {} : { onRefusal: options.onRefusal }),
  });
  guarded = nodeMcpGuard(guard);

  return {
    url: guard.resource,
    address: `http://${host}:${port}`,
    guard,
    sessionCount: () => sessions.size,
    async close() {
      await Promise.all([...sessions.values()].map((s) => s.transport.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/**
 *   JIT_BROKER_URL=https://jit-broker.internal:8443 \
 *   JIT_TOKEN_FILE=/var/run/secrets/jit-broker/token \
 *   GITHUB_TARGET=github-acme PORT=3000 npx tsx examples/mcp-github-server/server.ts
 */
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const env = (name: string) => {
    const value = process.env[name];
    if (value === undefined || value === '') throw new Error(`set ${name}`);
    return value;
  };
  const server = await startGithubMcpServer({
    brokerUrl: env('JIT_BROKER_URL'),
    ...(process.env.JIT_BROKER_ISSUER ? { issuer: process.env.JIT_BROKER_ISSUER } : {}),
    serverToken: tokenFile(env('JIT_TOKEN_FILE')),
    githubTarget: env('GITHUB_TARGET'),
    ...(process.env.GITHUB_API_URL ? { githubApiUrl: process.env.GITHUB_API_URL } : {}),
    port: Number(process.env.PORT ?? 3000),
    ...(process.env.PUBLIC_URL ? { publicUrl: process.env.PUBLIC_URL } : {}),
    allowedOrigins: (process.env.ALLOWED_ORIGINS ?? '').split(',').filter((o) => o !== ''),
  });
  console.log(`MCP server at ${server.url}`);
}
