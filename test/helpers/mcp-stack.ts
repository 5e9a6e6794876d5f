import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  type GithubMcpServer,
  startGithubMcpServer,
} from '../../examples/mcp-github-server/server.js';
import { generateDevKey } from '../../providers/jwt/dev-key.js';
import type { Refusal } from '../../src/mcp/index.js';
import { type GitHubFake, startGitHubFake } from '../fakes/github.js';
import { type Harness, startHarness } from './broker-harness.js';
import { freePort } from './free-port.js';
import { githubTarget } from './github-fake-target.js';

export const MCP_TARGET = 'mcp-github-server';
export const GITHUB_TARGET = 'github-acme';
export const AGENT_SUBJECT = 'spiffe://test/agent-a';
export const MCP_SERVER_SUBJECT = 'spiffe://test/mcp-github';

export interface McpStack {
  h: Harness;
  github: GitHubFake;
  mcp: GithubMcpServer;
  /** The broker's issuer, its `public_url`: the URL it listens on. */
  brokerUrl: string;
  /** The MCP endpoint, the resource's canonical URI. */
  resource: string;
  refusals: Refusal[];
  agentToken(): Promise<string>;
  close(): Promise<void>;
}

export interface McpStackOptions {
  revocationCacheTtlMs?: number;
  allowedOrigins?: string[];
  allowedHosts?: string[];
  /** The MCP server's canonical base URL, when clients reach it through a proxy. */
  publicUrl?: string;
  extend?: (server: McpServer) => void;
  /** The broker's lease store (default memory). */
  store?: 'memory' | 'redis';
  /** Patches the broker's config after the stack's own entries. */
  configure?: (raw: Record<string, unknown>) => void;
}

/**
 * A broker on a real socket whose issuer is the URL it listens on (so an MCP client can
 * discover it), a GitHub fake, and the example MCP server protected by the guard. The broker
 * is configured as an MCP deployment would be: the MCP server is a resource (RFC 8707) of a
 * jwt target whose audience is its URI, the agent may get tokens for it, and the MCP server
 * may get repository tokens only with an actor (the caller's access token, which the broker
 * verifies with its own published keys).
 */
export async function startMcpStack(options: McpStackOptions = {}): Promise<McpStack> {
  const github = await startGitHubFake({ owner: 'acme', repositories: ['api', 'web'] });
  const brokerPort = await freePort();
  const mcpPort = await freePort();
  const brokerUrl = `http://127.0.0.1:${brokerPort}`;
  const resource = `${(options.publicUrl ?? `http://127.0.0.1:${mcpPort}`).replace(/\/+$/, '')}/mcp`;
  const signingKey = await generateDevKey();
  const h = await startHarness({
    listen: true,
    ...(options.store === undefined ? {} : { store: options.store }),
    configure(raw) {
      raw.server = { host: '127.0.0.1', port: brokerPort, public_url: brokerUrl };
      (raw.issuers as unknown[]).push({
        // The broker's own access tokens for the MCP server, accepted as `actor_token` only
        // in that role: no workload has this issuer.
        name: 'mcp-callers',
        issuer: brokerUrl,
        audience: resource,
        jwks_uri: `${brokerUrl}/.well-known/jwks.json`,
        allow_insecure_loopback: true,
        algorithms: ['ES256'],
      });
      (raw.workloads as unknown[]).push({
        id: 'mcp-github',
        issuer: 'test',
        subject: MCP_SERVER_SUBJECT,
        tier: 'read',
      });
      (raw.targets as unknown[]).push(
        {
          name: MCP_TARGET,
          provider: 'jwt',
          audience: resource,
          keys: [{ kid: 'mcp-1', private_key: signingKey, state: 'active' }],
          resource_servers: ['mcp-github'],
        },
        githubTarget(github, GITHUB_TARGET),
      );
      raw.resources = [{ uri: resource, target: MCP_TARGET, scopes: ['files:read'] }];
      (raw.policies as unknown[]).push(
        {
          name: 'agents-use-the-mcp-server',
          workloads: ['agent-a', 'agent-b'],
          target: MCP_TARGET,
          allow: { scopes: ['files:read'] },
          intents: ['mcp'],
          default_ttl: '5m',
          max_ttl: '15m',
        },
        {
          name: 'mcp-server-reads-code-for-a-caller',
          workloads: ['mcp-github'],
          target: GITHUB_TARGET,
          allow: { repositories: ['acme/*'], permissions: { contents: 'read' } },
          intents: ['read-file'],
          require_actor: true,
          default_ttl: '5m',
          max_ttl: '10m',
        },
      );
      options.configure?.(raw);
    },
  });
  const refusals: Refusal[] = [];
  const mcp = await startGithubMcpServer({
    brokerUrl,
    serverToken: () => h.workloadToken(MCP_SERVER_SUBJECT),
    githubTarget: GITHUB_TARGET,
    githubApiUrl: github.url,
    port: mcpPort,
    ...(options.publicUrl === undefined ? {} : { publicUrl: options.publicUrl }),
    allowedOrigins: options.allowedOrigins ?? [],
    ...(options.allowedHosts === undefined ? {} : { allowedHosts: options.allowedHosts }),
    ...(options.revocationCacheTtlMs === undefined
      ? {}
      : { revocationCacheTtlMs: options.revocationCacheTtlMs }),
    ...(options.extend === undefined ? {} : { extend: options.extend }),
    onRefusal: (r) => refusals.push(r),
  });
  return {
    h,
    github,
    mcp,
    brokerUrl,
    resource,
    refusals,
    agentToken: () => h.workloadToken(AGENT_SUBJECT),
    async close() {
      await mcp.close();
      await h.close();
      await github.close();
    },
  };
}
