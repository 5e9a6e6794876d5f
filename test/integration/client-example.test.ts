import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type McpServer, startMcpServer } from '../../examples/mcp-server/server.js';
import { startTicketsApi, type TicketsApi } from '../../examples/mcp-server/tickets-api.js';
import { JitBrokerClient, type JwtCredential } from '../../src/client/index.js';
import { type Harness, startHarness } from '../helpers/broker-harness.js';

/** The example MCP server and tickets API, run against a real broker. */
describe('examples/mcp-server', () => {
  let h: Harness;
  let agent: JitBrokerClient;
  let tickets: TicketsApi;
  let mcp: McpServer;
  let misconfigured: McpServer;

  beforeAll(async () => {
    h = await startHarness({ listen: true });
    const as = (subject: string) =>
      new JitBrokerClient({ url: h.broker.url, token: () => h.workloadToken(subject) });
    agent = as('spiffe://test/agent-a');
    tickets = await startTicketsApi({ broker: as('spiffe://test/tickets-api') });
    mcp = await startMcpServer({ broker: agent, ticketsUrl: tickets.url, target: 'tickets' });
    misconfigured = await startMcpServer({
      broker: agent,
      ticketsUrl: tickets.url,
      target: 'no-such-target',
    });
  });
  afterAll(async () => {
    await Promise.all([mcp?.close(), misconfigured?.close(), tickets?.close()]);
    await h?.close();
  });

  const rpc = async (server: McpServer, method: string, params?: unknown) => {
    const response = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { result?: Record<string, unknown>; error?: unknown };
    expect(body.error).toBeUndefined();
    expect(body.result).toBeDefined();
    return { result: body.result ?? {} };
  };

  it('lists its one tool', async () => {
    const { result } = await rpc(mcp, 'tools/list');
    expect(result.tools).toEqual([expect.objectContaining({ name: 'list_tickets' })]);
  });

  it('list_tickets gets a task-bound credential, uses it, and revokes it', async () => {
    const { result } = await rpc(mcp, 'tools/call', {
      name: 'list_tickets',
      arguments: { task_id: 'mcp-task-1' },
    });
    expect(result.isError).toBeUndefined();
    const { tickets: listed } = result.structuredContent as { tickets: { id: string }[] };
    expect(listed.map((t) => t.id)).toContain('T-101');

    const issued = h.events.events.find(
      (e) => e.type === 'credential.issued' && e.task?.id === 'mcp-task-1',
    );
    expect(issued?.task).toEqual({ id: 'mcp-task-1', intent: 'triage', tool: 'list_tickets' });
    expect(issued?.scope).toEqual({ scopes: ['tickets:read'] });
    await vi.waitFor(async () => {
      expect((await agent.getLease(issued!.lease_id!)).state).toBe('revoked');
    });
  });

  it('a broker refusal is a tool error naming the code', async () => {
    const { result } = await rpc(misconfigured, 'tools/call', {
      name: 'list_tickets',
      arguments: { task_id: 'mcp-task-2' },
    });
    expect(result.isError).toBe(true);
    const [content] = result.content as { text: string }[];
    expect(content?.text).toContain('target_unknown');
  });

  it('the tickets API refuses a missing token and a revoked one', async () => {
    expect((await fetch(`${tickets.url}/tickets`)).status).toBe(401);

    const lease = await agent.getCredential<JwtCredential>({
      target: 'tickets',
      scope: { scopes: ['tickets:read'] },
      task: { id: 'mcp-task-3', intent: 'triage' },
    });
    const call = () =>
      fetch(`${tickets.url}/tickets`, {
        headers: { authorization: `Bearer ${lease.credential.token}` },
      });
    expect((await call()).status).toBe(200);
    await agent.revoke(lease.leaseId);
    expect((await call()).status).toBe(401);
  });

  it('the tickets API refuses a token without tickets:read', async () => {
    const lease = await agent.getCredential<JwtCredential>({
      target: 'tickets',
      scope: { scopes: ['tickets:comment'] },
      task: { id: 'mcp-task-4', intent: 'triage' },
    });
    const response = await fetch(`${tickets.url}/tickets`, {
      headers: { authorization: `Bearer ${lease.credential.token}` },
    });
    expect(response.status).toBe(403);
    await agent.revoke(lease.leaseId);
  });
});
