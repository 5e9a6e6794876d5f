import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JitBrokerClient } from '../../src/client/index.js';
import { createMcpGuard, type McpGuard, nodeMcpGuard } from '../../src/mcp/index.js';
import { freePort } from '../helpers/free-port.js';
import { eventually } from '../helpers/lease-http.js';
import {
  AGENT_SUBJECT,
  MCP_SERVER_SUBJECT,
  MCP_TARGET,
  type McpStack,
  startMcpStack,
} from '../helpers/mcp-stack.js';

/**
 * The broker pushes its SETs to an MCP server's guard: a revoked lease's token is refused
 * at the next call, though the guard's cached introspection answer had 30 s left.
 */
describe("the MCP guard receives the broker's Shared Signals", () => {
  let stack: McpStack;
  let guard: McpGuard;
  let server: Server;
  let introspections = 0;

  beforeAll(async () => {
    const pushPort = await freePort();
    stack = await startMcpStack({
      configure(raw) {
        const server = raw.server as { public_url: string };
        raw.ssf = {
          signing_key: {
            private_key: generateKeyPairSync('ed25519')
              .privateKey.export({ type: 'pkcs8', format: 'pem' })
              .toString(),
            kid: 'set-1',
          },
          receivers: [
            {
              name: 'mcp-github',
              url: `http://127.0.0.1:${pushPort}/ssf/events`,
              audience: `${server.public_url}/mcp-audience`,
              allow_insecure_loopback: true,
            },
          ],
        };
      },
    });
    const broker = new JitBrokerClient({
      url: stack.brokerUrl,
      token: () => stack.h.workloadToken(MCP_SERVER_SUBJECT),
    });
    guard = createMcpGuard({
      resource: stack.resource,
      issuer: stack.brokerUrl,
      introspect: (token) => {
        introspections++;
        return broker.introspect(token);
      },
      requiredScopes: ['files:read'],
      allowedOrigins: [],
      revocationCacheTtlMs: 30_000,
      ssf: { issuer: stack.brokerUrl, audience: `${stack.brokerUrl}/mcp-audience` },
    });
    const guarded = nodeMcpGuard(guard);
    server = createServer((req, res) => {
      void guarded(req, res).then((caller) => {
        if (caller !== undefined) res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(pushPort, '127.0.0.1', r));
  });
  afterAll(async () => {
    await new Promise<void>((r) => server?.close(() => r()));
    await stack?.close();
  });

  const call = (token: string) =>
    guard.check(
      new Request(stack.resource, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
      }),
    );

  it('drops the cached "active" answer on receipt; the revoked token is refused on the next call', async () => {
    const agent = await stack.agentToken();
    const res = await stack.h.request('/v1/credentials', {
      method: 'POST',
      token: agent,
      json: {
        target: MCP_TARGET,
        scope: { scopes: ['files:read'] },
        task: { id: 'ssf-guard', intent: 'mcp' },
      },
    });
    expect(res.status).toBe(201);
    const issued = (await res.json()) as { lease_id: string; credential: { token: string } };
    const token = issued.credential.token;
    expect((await call(token)).kind).toBe('caller');
    expect((await call(token)).kind).toBe('caller');
    expect(introspections).toBe(1);

    const revoked = await stack.h.request(`/v1/leases/${issued.lease_id}`, {
      method: 'DELETE',
      token: await stack.h.workloadToken(AGENT_SUBJECT),
    });
    expect(revoked.status).toBe(200);

    // Well inside the 30 s the cached answer had left: only the pushed SET can explain it.
    expect(
      await eventually(async () => {
        const outcome = await call(token);
        return outcome.kind === 'response' && outcome.response.status === 401;
      }, 5_000),
    ).toBe(true);
    expect(stack.refusals).toEqual([]);
    expect(introspections).toBeGreaterThanOrEqual(2);
  });
});
