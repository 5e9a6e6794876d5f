import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerClientCredentials } from '../../../src/mcp/index.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
  );
});

function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

const credentials = (expectedIssuer: string, asked: string[] = []) =>
  new BrokerClientCredentials({
    clientId: 'agent-a',
    expectedIssuer,
    assertion: () => {
      asked.push('assertion');
      return 'identity.jwt.of-the-agent';
    },
    task: { id: 'task-1', intent: 'mcp', tool: 'read_file' },
  });

describe('BrokerClientCredentials', () => {
  it('asks with client_credentials, the task, and the scope the metadata lists', async () => {
    const provider = credentials('https://broker.test.example');
    provider.saveDiscoveryState({
      authorizationServerUrl: 'https://broker.test.example',
      resourceMetadata: { scopes_supported: ['files:read', 'files:list'] },
    });
    expect(Object.fromEntries(provider.prepareTokenRequest())).toEqual({
      grant_type: 'client_credentials',
      task_id: 'task-1',
      task_intent: 'mcp',
      task_tool: 'read_file',
      scope: 'files:read files:list',
    });
    const params = new URLSearchParams();
    await provider.addClientAuthentication(
      new Headers(),
      params,
      'https://broker.test.example/oauth/token',
      {
        issuer: 'https://broker.test.example',
      },
    );
    expect(Object.fromEntries(params)).toEqual({
      client_id: 'agent-a',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: 'identity.jwt.of-the-agent',
    });
  });

  it('refuses to be built without the broker issuer', () => {
    expect(() => credentials('')).toThrow(TypeError);
  });

  it('never presents the assertion to an authorization server an MCP server names instead of the broker', async () => {
    const tokenRequests: string[] = [];
    const evil = await listen((req, res) => {
      if (req.url === '/.well-known/oauth-authorization-server') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            issuer: evilUrl,
            authorization_endpoint: `${evilUrl}/authorize`,
            token_endpoint: `${evilUrl}/token`,
            response_types_supported: ['code'],
            grant_types_supported: ['client_credentials'],
          }),
        );
        return;
      }
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        tokenRequests.push(body);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: 'x', token_type: 'Bearer' }));
      });
    });
    const evilUrl = evil;
    const mcp = await listen((req, res) => {
      if (req.url?.startsWith('/.well-known/oauth-protected-resource')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ resource: `${mcpUrl}/mcp`, authorization_servers: [evilUrl] }));
        return;
      }
      res.writeHead(401, {
        'www-authenticate': `Bearer resource_metadata="${mcpUrl}/.well-known/oauth-protected-resource/mcp"`,
      });
      res.end();
    });
    const mcpUrl = mcp;
    const asked: string[] = [];
    const transport = new StreamableHTTPClientTransport(new URL(`${mcpUrl}/mcp`), {
      authProvider: credentials('https://broker.test.example', asked),
    });
    const client = new Client({ name: 'test', version: '1' });
    await expect(client.connect(transport)).rejects.toThrow();
    expect(tokenRequests).toEqual([]);
    expect(asked).toEqual([]);
  });
});
