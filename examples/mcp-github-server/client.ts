/**
 * The agent's side: an MCP client on the official SDK that holds no token in advance. On the
 * server's 401 the SDK reads the protected-resource metadata, finds the broker, and gets an
 * access token for exactly this server with client credentials (the workload's identity JWT
 * as client assertion); then it lists the tools and calls `read_file`.
 *
 *   MCP_URL=http://127.0.0.1:3000/mcp JIT_BROKER_ISSUER=https://jit-broker.internal:8443 \
 *   JIT_TOKEN_FILE=/var/run/secrets/jit-broker/token JIT_CLIENT_ID=agent-a \
 *   npx tsx examples/mcp-github-server/client.ts acme/api README.md
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { tokenFile } from '../../src/client/index.js';
import { BrokerClientCredentials } from '../../src/mcp/index.js';

export interface ReadFileOptions {
  /** The MCP endpoint. */
  serverUrl: string;
  /** The broker's issuer: the client assertion is presented to no other authorization server. */
  issuer: string;
  /** The workload this agent is at the broker. */
  clientId: string;
  /** The agent's identity JWT, asked for on every token request. */
  identityToken: () => string | Promise<string>;
  /** The agent's task; the broker binds the access token's lease to it. */
  task?: { id: string; intent: string };
  fetch?: typeof fetch;
}

export interface McpSession {
  readonly client: Client;
  readonly credentials: BrokerClientCredentials;
  listTools(): Promise<string[]>;
  readFile(
    repo: string,
    path: string,
  ): Promise<{ isError: boolean; text: string; structured: unknown }>;
  close(): Promise<void>;
}

export async function connect(options: ReadFileOptions): Promise<McpSession> {
  const credentials = new BrokerClientCredentials({
    clientId: options.clientId,
    expectedIssuer: options.issuer,
    assertion: options.identityToken,
    task: options.task ?? { id: `agent-${randomUUID()}`, intent: 'mcp' },
  });
  const transport = new StreamableHTTPClientTransport(new URL(options.serverUrl), {
    authProvider: credentials,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  const client = new Client({ name: 'jit-broker-example-agent', version: '0.1.0' });
  await client.connect(transport);
  return {
    client,
    credentials,
    async listTools() {
      return (await client.listTools()).tools.map((t) => t.name);
    },
    async readFile(repo, path) {
      const result = await client.callTool({ name: 'read_file', arguments: { repo, path } });
      const [first] = (result.content ?? []) as { type: string; text?: string }[];
      return {
        isError: result.isError === true,
        text: first?.type === 'text' ? (first.text ?? '') : '',
        structured: result.structuredContent,
      };
    },
    async close() {
      await transport.terminateSession().catch(() => {});
      await client.close();
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const env = (name: string) => {
    const value = process.env[name];
    if (value === undefined || value === '') throw new Error(`set ${name}`);
    return value;
  };
  const [repo = 'acme/api', path = 'README.md'] = process.argv.slice(2);
  const session = await connect({
    serverUrl: env('MCP_URL'),
    issuer: env('JIT_BROKER_ISSUER'),
    clientId: env('JIT_CLIENT_ID'),
    identityToken: tokenFile(env('JIT_TOKEN_FILE')),
  });
  try {
    console.log('tools:', (await session.listTools()).join(', '));
    const file = await session.readFile(repo, path);
    console.log(file.isError ? `error: ${file.text}` : file.text);
  } finally {
    await session.close();
  }
}
