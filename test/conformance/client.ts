/**
 * The MCP client the conformance suite drives for its client auth scenarios: the SDK's
 * client with `BrokerClientCredentials` from `jit-broker/mcp` as its auth provider. The suite
 * passes the server URL as the last argument and, for client-credentials scenarios, the
 * client id and a private key in MCP_CONFORMANCE_CONTEXT; the assertion is a JWT signed with
 * that key (iss = sub = client id, aud = the authorization server's issuer).
 */
import { randomUUID } from 'node:crypto';
import { discoverOAuthServerInfo } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { importPKCS8, SignJWT } from 'jose';
import { BrokerClientCredentials } from '../../src/mcp/index.js';

interface Context {
  client_id?: string;
  private_key_pem?: string;
  signing_algorithm?: string;
}

const serverUrl = process.argv.at(-1) ?? '';
const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT ?? '{}') as Context;
const clientId = context.client_id ?? 'conformance-client';
const algorithm = context.signing_algorithm ?? 'ES256';

async function assertion({ issuer }: { issuer: string | undefined }): Promise<string> {
  if (context.private_key_pem === undefined) throw new Error('no client key in the context');
  const key = await importPKCS8(context.private_key_pem, algorithm);
  return new SignJWT({})
    .setProtectedHeader({ alg: algorithm })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(issuer ?? '')
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('2m')
    .sign(key);
}

/**
 * The suite's authorization server listens on a port it picks, so the issuer the client
 * trusts is found by the SDK's own discovery (RFC 9728, then RFC 8414); in production it
 * is configuration.
 */
async function discoveredIssuer(): Promise<string> {
  const { authorizationServerUrl } = await discoverOAuthServerInfo(serverUrl);
  return String(authorizationServerUrl);
}

const credentials = new BrokerClientCredentials({
  clientId,
  // In production the expected issuer is configuration; the suite's server picks a free port.
  expectedIssuer: await discoveredIssuer(),
  assertion,
  task: { id: `conformance-${randomUUID()}`, intent: 'conformance' },
});
const transport = new StreamableHTTPClientTransport(new URL(serverUrl), {
  authProvider: credentials,
});
const client = new Client({ name: 'jit-broker-conformance-client', version: '0.1.0' });
await client.connect(transport);
await client.listTools();
await transport.terminateSession().catch(() => {});
await client.close();
